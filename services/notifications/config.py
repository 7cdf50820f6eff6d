from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings
from libs.registry import service
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.domain.messages import NotificationKind
from services.notifications.domain.notices import SMS_KINDS_BY_DEFAULT

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
    # Sending: how long one attempt may take (connect, send, answer), how long a delivery is
    # retried, the backoff's first wait and its cap (full jitter below them), how long an
    # endpoint may fail before it is disabled, and how long the ledger keeps what is done.
    WEBHOOK_TIMEOUT_S: float = Field(default=5.0, gt=0, le=60)
    WEBHOOK_RETRY_WINDOW_S: int = Field(default=3 * DAY_S, ge=0)
    WEBHOOK_RETRY_FIRST_S: float = Field(default=5.0, gt=0)
    WEBHOOK_RETRY_CAP_S: float = Field(default=3600.0, gt=0)
    WEBHOOK_RETRY_FLOOR_S: float = Field(default=1.0, ge=0)
    WEBHOOK_DISABLE_AFTER_S: int = Field(default=5 * DAY_S, ge=0)
    DELIVERY_RETENTION_S: int = Field(default=30 * DAY_S, ge=0)
    # The delivery worker: how often it looks when idle, and how long a claim holds (longer
    # than an attempt can take, so a live worker's delivery is never sent twice at once).
    DELIVERY_INTERVAL_S: float = Field(default=1.0, gt=0)
    DELIVERY_LEASE_S: float = Field(default=60.0, gt=0)

    # Customer e-mails: the SMTP server they are handed to (`make run` and the tests: the
    # development sink, tools/mail_sink.py) and how (adapters/mail.py's SmtpSettings).
    SMTP_HOST: str = "127.0.0.1"
    SMTP_PORT: int = Field(default=1025, ge=1, le=65535)
    SMTP_TIMEOUT_S: float = Field(default=10.0, gt=0)
    # Unset: STARTTLS when the server offers it; true: required; false: never.
    SMTP_START_TLS: bool | None = None
    SMTP_USE_TLS: bool = False
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_VALIDATE_CERTS: bool = True
    # The brands (sender name and address per sales channel); unset: the one beside the
    # templates (adapters/templates/brands.json).
    BRANDS_FILE: str | None = None
    # Where the simulated SMS provider writes (adapters/sms.py).
    SMS_DIR: str = ".local/sms"
    # The kinds also sent by SMS to a customer who gave a phone number: comma-separated
    # NotificationKind values (domain.messages); empty: no SMS at all.
    SMS_KINDS: str = ",".join(sorted(SMS_KINDS_BY_DEFAULT))
    # The sending job: how often it looks for due notifications, how long a claimed one is
    # its own before another process may take it, and the retries of a transient failure.
    SEND_INTERVAL_S: float = Field(default=1.0, gt=0)
    SEND_LEASE_S: float = Field(default=60.0, gt=0)
    SEND_RETRY_FIRST_S: float = Field(default=30.0, ge=0)
    SEND_RETRY_LONGEST_S: float = Field(default=3600.0, ge=0)
    SEND_MAX_ATTEMPTS: int = Field(default=8, ge=1)

    @field_validator("SMS_KINDS")
    @classmethod
    def _known_sms_kinds(cls, value: str) -> str:
        # A misspelt kind would silently text nothing: refused at start instead.
        known = {kind.value for kind in NotificationKind}
        unknown = sorted(set(_listed(value)) - known)
        if unknown:
            raise ValueError(f"unknown notification kind(s) {unknown}; known: {sorted(known)}")
        return value

    @property
    def sms_kinds(self) -> frozenset[NotificationKind]:
        return frozenset(NotificationKind(kind) for kind in _listed(self.SMS_KINDS))

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

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            window=timedelta(seconds=self.WEBHOOK_RETRY_WINDOW_S),
            first=timedelta(seconds=self.WEBHOOK_RETRY_FIRST_S),
            cap=timedelta(seconds=self.WEBHOOK_RETRY_CAP_S),
            floor=timedelta(seconds=self.WEBHOOK_RETRY_FLOOR_S),
            disable_after=timedelta(seconds=self.WEBHOOK_DISABLE_AFTER_S),
        )


def _listed(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
