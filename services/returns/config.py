from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings
from libs.registry import service


class ReturnsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RETURNS_", extra="ignore", frozen=True)

    SERVICE_NAME: str = "returns"
    HTTP_PORT: int = service("returns").port
    DATABASE_URL: str = "postgresql+asyncpg://oms_returns:oms_returns@127.0.0.1:5432/oms_returns"
    # Exchanges place their replacement order through order-capture's public API.
    ORDER_CAPTURE_URL: str = f"http://127.0.0.1:{service('order_capture').port}"
    ORDER_CAPTURE_TIMEOUT_S: float = Field(default=5.0, gt=0)
    WORKER_INTERVAL_S: float = Field(default=1.0, gt=0)
    # How long a process's claim on a pending exchange keeps the other processes off it:
    # longer than the call to order-capture can take. A process that dies holding a claim
    # leaves the exchange to another this much later.
    WORKER_LEASE_S: float = Field(default=30.0, gt=0)
