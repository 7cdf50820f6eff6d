"""What callers ask of customer notifications: send one again, and opt an order (or its
customer) out of them or in again."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class ResendNotification:
    notification_id: UUID
    # The caller's channels claim (None: not narrowed): another channel's is not found.
    allowed_channels: frozenset[str] | None
    fingerprint: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class SetNotificationPreference:
    """`opted_out` for the order; with `whole_customer`, for every order of the order's
    customer (by e-mail address) as well."""

    order_id: UUID
    opted_out: bool
    whole_customer: bool
    allowed_channels: frozenset[str] | None
