"""Signing secrets in the Standard Webhooks format, and rotating them with an overlap.

A secret is `whsec_` and the base64 of 24 to 64 random bytes (the specification's range; we
make 24). An endpoint signs with its current secret; a rotation makes a new one current and
keeps the previous one valid until its expiry, so a receiver that still verifies with the old
secret keeps accepting deliveries while it is updated: the specification lets a request carry
several signatures, and while an old secret has not expired every delivery is signed with it
too.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifications.domain.errors import InvalidWebhookSecret

PREFIX = "whsec_"
MIN_BYTES = 24
MAX_BYTES = 64
# The most secrets an endpoint holds at once (the current one and those expiring): a receiver
# verifying a request tries each signature, and rotating again and again must not grow that.
MAX_SECRETS = 3


def format_secret(raw: bytes) -> str:
    """The secret for `raw` random bytes."""
    if not MIN_BYTES <= len(raw) <= MAX_BYTES:
        raise InvalidWebhookSecret(f"a secret holds {MIN_BYTES} to {MAX_BYTES} bytes")
    return PREFIX + base64.b64encode(raw).decode()


def secret_bytes(secret: str) -> bytes:
    """The key a secret stands for; InvalidWebhookSecret unless it is in the format."""
    if not secret.startswith(PREFIX):
        raise InvalidWebhookSecret(f"a signing secret starts with {PREFIX}")
    try:
        raw = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise InvalidWebhookSecret("a signing secret is whsec_ and base64") from None
    if not MIN_BYTES <= len(raw) <= MAX_BYTES:
        raise InvalidWebhookSecret(f"a signing secret holds {MIN_BYTES} to {MAX_BYTES} bytes")
    return raw


@dataclass(frozen=True)
class SigningSecret:
    """One secret; `expires_at` is None for the current one."""

    value: str
    created_at: datetime
    expires_at: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at

    @property
    def hint(self) -> str:
        """Enough to tell secrets apart in a listing, never enough to sign with."""
        return self.value[: len(PREFIX) + 4] + "…"


def rotated(
    secrets: tuple[SigningSecret, ...], new_value: str, now: datetime, overlap: timedelta
) -> tuple[SigningSecret, ...]:
    """`new_value` current; the current one before it valid for `overlap` more (an overlap of
    zero ends it now); older ones keep their expiry, expired ones are dropped, and no more
    than MAX_SECRETS are kept (the newest)."""
    secret_bytes(new_value)
    if overlap < timedelta(0):
        raise ValueError("the overlap is not negative")
    ending = [
        SigningSecret(s.value, s.created_at, now + overlap) if s.expires_at is None else s
        for s in secrets
    ]
    kept = [s for s in ending if s.valid_at(now)]
    kept.sort(key=lambda s: s.created_at, reverse=True)
    return (SigningSecret(new_value, now), *kept[: MAX_SECRETS - 1])


def signing_secrets(secrets: tuple[SigningSecret, ...], now: datetime) -> list[str]:
    """What a delivery at `now` is signed with: the current secret and those not expired."""
    return [s.value for s in secrets if s.valid_at(now)]
