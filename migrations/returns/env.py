from libs.db.alembic_env import run_migrations
from services.returns.adapters.tables import metadata
from services.returns.config import ReturnsSettings

run_migrations(metadata=metadata, database_url=ReturnsSettings().DATABASE_URL)
