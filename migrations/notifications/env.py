from libs.db.alembic_env import run_migrations
from services.notifications.adapters.tables import metadata
from services.notifications.config import NotificationsSettings

run_migrations(metadata=metadata, database_url=NotificationsSettings().DATABASE_URL)
