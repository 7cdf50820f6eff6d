"""What callers ask notifications for: the API's changes to webhook endpoints, and each
consumed event to be matched against them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.notifications.domain.delivery import DueDelivery, Outcome
from services.notifications.domain.endpoints import EndpointChanges


@dataclass(frozen=True)
class CreateEndpoint:
    url: str
    event_types: tuple[str, ...]
    channels: frozenset[str] | None
    enabled: bool
    description: str
    fingerprint: str
    # The caller's channels claim (None: not narrowed): the filter must lie within it.
    allowed_channels: frozenset[str] | None
    idempotency_key: str | None = None
    # A secret the client brings (moving from another sender); None: a new random one.
    secret: str | None = None


@dataclass(frozen=True)
class UpdateEndpoint:
    endpoint_id: UUID
    changes: EndpointChanges
    allowed_channels: frozenset[str] | None
    expected_version: int | None = None


@dataclass(frozen=True)
class DeleteEndpoint:
    endpoint_id: UUID
    allowed_channels: frozenset[str] | None


@dataclass(frozen=True)
class RotateSecret:
    endpoint_id: UUID
    # How long the secret it replaces stays valid; None: the configured default.
    overlap: timedelta | None
    allowed_channels: frozenset[str] | None
    secret: str | None = None


@dataclass(frozen=True)
class RecordEvent:
    """A consumed event: a delivery for each endpoint it matches. `order_id` is the order it
    is about (None for stock levels and the like), `key` its record key (the order id, or
    the SKU), `channel` the order's channel when the event itself says it."""

    event_id: str
    event_type: str
    occurred_at: datetime
    key: str
    order_id: UUID | None
    channel: str | None
    cloud_event: Mapping[str, Any]


@dataclass(frozen=True)
class RecordAttempt:
    """An attempt the delivery worker made: its outcome goes in the ledger, and decides the
    delivery's next attempt (or its end) and the endpoint's health. `jitter` is the random
    number in [0, 1) the next attempt's backoff takes (chosen by the worker: handlers stay
    deterministic)."""

    delivery: DueDelivery
    started_at: datetime
    outcome: Outcome
    jitter: float
