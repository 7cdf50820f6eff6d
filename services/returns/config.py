from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings


class ReturnsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RETURNS_", extra="ignore", frozen=True)

    SERVICE_NAME: str = "returns"
    HTTP_PORT: int = 8004
    DATABASE_URL: str = "postgresql+asyncpg://oms_returns:oms_returns@127.0.0.1:5432/oms_returns"
