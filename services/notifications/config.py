from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings
from libs.registry import service

DAY_S = 24 * 3600


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", frozen=True)

    SERVICE_NAME: str = "notifications"
    HTTP_PORT: int = service("notifications").port
    DATABASE_URL: str = (
        "postgresql+asyncpg://oms_notifications:oms_notifications@127.0.0.1:5432/oms_notifications"
    )
    # Webhook URLs must be https, unless set otherwise; unset: required outside development
    # and test.
    WEBHOOK_REQUIRE_HTTPS: bool | None = None
    # Loopback, private and link-local webhook hosts (SSRF targets) are refused, unless set
    # otherwise; unset: allowed in development only (a receiver on this machine).
    WEBHOOK_ALLOW_PRIVATE_TARGETS: bool | None = None
    # How long a rotated-out signing secret stays valid (deliveries carry both signatures),
    # unless the rotation names its own overlap.
    SECRET_ROTATION_OVERLAP_S: int = Field(default=DAY_S, ge=0, le=30 * DAY_S)

    @property
    def require_https(self) -> bool:
        if self.WEBHOOK_REQUIRE_HTTPS is not None:
            return self.WEBHOOK_REQUIRE_HTTPS
        return self.ENV not in ("development", "test")

    @property
    def allow_private_targets(self) -> bool:
        if self.WEBHOOK_ALLOW_PRIVATE_TARGETS is not None:
            return self.WEBHOOK_ALLOW_PRIVATE_TARGETS
        return self.ENV == "development"
