from libs.db.alembic_env import run_migrations
from services.inventory.adapters.tables import metadata
from services.inventory.config import InventorySettings

run_migrations(metadata=metadata, database_url=InventorySettings().DATABASE_URL)
