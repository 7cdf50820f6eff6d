from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings


class OrchestrationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORCHESTRATION_", extra="ignore", frozen=True)

    SERVICE_NAME: str = "orchestration"
    HTTP_PORT: int = 8003
    DATABASE_URL: str = (
        "postgresql+asyncpg://oms_orchestration:oms_orchestration@127.0.0.1:5432/oms_orchestration"
    )
