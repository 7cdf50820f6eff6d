"""What returns is asked to do: by its API, by consumed events, by its worker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.returns.domain.opening import WantedLine
from services.returns.domain.parts import Method, Resolution
from services.returns.domain.policy import Condition, ReturnPolicy


@dataclass(frozen=True)
class KnownLine:
    line_id: UUID
    sku: str
    quantity: int
    unit_price: Decimal
    discount_amount: Decimal = Decimal("0")
    tax_amount: Decimal = Decimal("0")
    name: str | None = None


@dataclass(frozen=True)
class ProjectPlacedOrder:
    """Returns keeps its own copy of what it needs to know of an order (no reads of others' DBs)."""

    order_id: UUID
    order_number: str
    customer_email: str
    currency: str
    placed_at: datetime
    lines: tuple[KnownLine, ...]
    channel: str = ""
    customer_name: str = ""
    shipping_amount: Decimal = Decimal("0")
    grand_total: Decimal = Decimal("0")
    tags: frozenset[str] = frozenset()
    shipping_address: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateOrderContact:
    order_id: UUID
    shipping_address: Mapping[str, Any]
    customer_email: str
    customer_name: str


@dataclass(frozen=True)
class RecordShipment:
    """Units of the order left a location (shipped) or reached the customer (delivered)."""

    order_id: UUID
    shipment_id: str
    quantities: Mapping[UUID, int]
    at: datetime
    delivered: bool


@dataclass(frozen=True)
class RecordRefundOutcome:
    order_id: UUID
    refund_id: str
    succeeded: bool
    reason: str | None = None


@dataclass(frozen=True)
class PutPolicy:
    policy: ReturnPolicy
    expected_version: int | None = None


@dataclass(frozen=True)
class OpenReturn:
    lines: tuple[WantedLine, ...]
    method: Method
    resolution: Resolution
    order_id: UUID | None = None  # staff name the order by id ...
    order_number: str | None = None  # ... customers by number, proven by their e-mail
    email: str | None = None
    location_code: str | None = None
    idempotency_key: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class ReviewReturn:
    return_id: UUID
    approve: bool
    reason: str = ""


@dataclass(frozen=True)
class DropOffReturn:
    return_id: UUID


@dataclass(frozen=True)
class ReceiveReturn:
    return_id: UUID
    location_code: str
    lines: tuple[tuple[UUID, int, Condition], ...]
    idempotency_key: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class RetryRefunds:
    return_id: UUID


@dataclass(frozen=True)
class RecordExchangeOrder:
    """The worker's answer from order-capture: the replacement order, or why there is none."""

    return_id: UUID
    order_id: UUID | None
    error: str | None = None
