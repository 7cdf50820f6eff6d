from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings


class OrderCaptureSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDER_CAPTURE_", extra="ignore", frozen=True)

    SERVICE_NAME: str = "order_capture"
    HTTP_PORT: int = 8001
    DATABASE_URL: str = (
        "postgresql+asyncpg://oms_order_capture:oms_order_capture@127.0.0.1:5432/oms_order_capture"
    )
