from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings
from libs.registry import service


class InventorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore", frozen=True)

    SERVICE_NAME: str = "inventory"
    HTTP_PORT: int = service("inventory").port
    DATABASE_URL: str = (
        "postgresql+asyncpg://oms_inventory:oms_inventory@127.0.0.1:5432/oms_inventory"
    )
    # How often temporary holds past their expires_at are looked for (when none were due).
    EXPIRY_INTERVAL_S: float = Field(default=5.0, gt=0)
    # How often queued stock imports are looked for (when none were waiting).
    IMPORT_POLL_INTERVAL_S: float = Field(default=1.0, gt=0)
