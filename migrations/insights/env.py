from libs.db.alembic_env import run_migrations
from services.insights.adapters.tables import metadata
from services.insights.config import InsightsSettings

run_migrations(metadata=metadata, database_url=InsightsSettings().DATABASE_URL)
