from libs.db.alembic_env import run_migrations
from services.orchestration.adapters.tables import metadata
from services.orchestration.config import OrchestrationSettings

run_migrations(metadata=metadata, database_url=OrchestrationSettings().DATABASE_URL)
