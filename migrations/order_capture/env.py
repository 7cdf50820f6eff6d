from libs.db.alembic_env import run_migrations
from services.order_capture.adapters.tables import metadata
from services.order_capture.config import OrderCaptureSettings

run_migrations(metadata=metadata, database_url=OrderCaptureSettings().DATABASE_URL)
