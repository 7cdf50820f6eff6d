"""What callers ask of order-capture: HTTP requests and other services' reports, as commands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.order_capture.domain.values import (
    Address,
    Channel,
    Customer,
    Delivery,
    OrderChanges,
    Payment,
    Priority,
)


@dataclass(frozen=True)
class NewLine:
    sku: str
    quantity: int
    unit_price: Decimal
    discount_amount: Decimal = Decimal("0")
    tax_amount: Decimal = Decimal("0")
    name: str | None = None


@dataclass(frozen=True)
class PlaceOrder:
    channel: Channel
    channel_order_ref: str
    currency: str
    customer: Customer
    shipping_address: Address
    delivery: Delivery
    lines: tuple[NewLine, ...]
    shipping_amount: Decimal
    payment: Payment
    billing_address: Address | None = None
    requested_delivery_date: date | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    notes: str | None = None
    claimed_totals: Mapping[str, Decimal] = field(default_factory=dict)
    idempotency_key: str | None = None
    request_fingerprint: str = ""
    # Pay with the token of this earlier order of the same channel and customer (returns'
    # exchange orders): the token stays in order-capture, which no caller sees it leave.
    payment_token_of: UUID | None = None


@dataclass(frozen=True)
class EditOrder:
    order_id: UUID
    expected_version: int
    changes: OrderChanges


@dataclass(frozen=True)
class ChangePriority:
    order_id: UUID
    priority: Priority
    reason: str = ""


@dataclass(frozen=True)
class CancelOrder:
    order_id: UUID
    reason: str
    requested_by: str
    # line id -> units; None cancels every unit not yet shipped.
    quantities: Mapping[UUID, int] | None = None
    idempotency_key: str | None = None
    request_fingerprint: str = ""


@dataclass(frozen=True)
class CancelOwnOrder:
    """Self-service: the customer proves the order is theirs with its number and e-mail."""

    order_number: str
    email: str
    reason: str


# --- Reports from the other services (consumed events) -------------------------------------


@dataclass(frozen=True)
class Report:
    """What every consumed fact carries: which order, a business key that makes it apply at
    most once, who said so, when, and why."""

    order_id: UUID
    fact_key: str
    source: str
    at: datetime
    reason: str


@dataclass(frozen=True)
class RecordStockReserved(Report):
    quantities_by_sku: Mapping[str, int] = field(default_factory=dict)
    # Units promised from incoming stock rather than held: they wait as backordered.
    backordered_by_sku: Mapping[str, int] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordStockShortage(Report):
    skus: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordAllocation(Report):
    quantities: Mapping[UUID, int] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordShipment(Report):
    shipment_id: str = ""
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str | None = None
    quantities: Mapping[UUID, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordCollection(RecordShipment):
    """Click & collect: the customer took the units at the store, shipped and delivered
    at once."""


@dataclass(frozen=True)
class RecordDelivery(Report):
    shipment_id: str = ""
    quantities: Mapping[UUID, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordReturn(Report):
    quantities: Mapping[UUID, int] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordRefund(Report):
    quantities: Mapping[UUID, int] = field(default_factory=dict)
    amount: Decimal = Decimal("0")
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordHold(Report):
    held: bool = True


@dataclass(frozen=True)
class RecordDelay(Report):
    """Units will leave later than promised (orchestration's order_delayed): the timeline
    says so, with the estimates; no unit moves."""

    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordCompletion(Report):
    pass
