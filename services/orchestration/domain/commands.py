"""What orchestration is asked to do: by consumed events, by its worker, by its API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.orchestration.domain.fulfillment import Action
from services.orchestration.domain.order import OrderSnapshot, ShipTo
from services.orchestration.domain.payments import ProviderResult
from services.orchestration.domain.routing.model import Method

# --- inventory's answers, as the saga reads them (messaging/subscriptions.py converts) -------


@dataclass(frozen=True, kw_only=True)
class ReservedLine:
    """Units of a confirmed reservation at one location: held, or promised from incoming
    stock (backordered, expected at `expected_at`)."""

    sku: str
    location_code: str
    quantity: int  # held + backordered
    held: int
    backordered: int = 0
    expected_at: datetime | None = None
    line_id: str | None = None  # the order line, when inventory named it


@dataclass(frozen=True, kw_only=True)
class StockLine:
    """Units of a SKU at a location (incoming stock allocated to a backorder)."""

    sku: str
    location_code: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class RepromisedLine:
    """A backordered line promised again: still waiting from `expected_at`, or `lapsed`
    units no delivery covers any more."""

    sku: str
    location_code: str
    line_id: str | None = None
    backordered: int
    expected_at: datetime | None = None
    previous_expected_at: datetime | None = None
    lapsed: int = 0


@dataclass(frozen=True)
class StartSaga:
    order_id: UUID
    order: OrderSnapshot


@dataclass(frozen=True)
class RecordReservation:
    order_id: UUID
    reservation_id: str
    confirmed: bool
    lines: Sequence[ReservedLine] = ()
    reason: str = ""


@dataclass(frozen=True)
class RecordBackorderAllocation:
    order_id: UUID
    reservation_id: str
    lines: Sequence[StockLine]


@dataclass(frozen=True)
class RecordBackorderRepromise:
    order_id: UUID
    reservation_id: str
    lines: Sequence[RepromisedLine]
    reason: str


@dataclass(frozen=True)
class CancelUnits:
    order_id: UUID
    quantities: Mapping[str, int] | None  # line id -> units; None: the whole order


@dataclass(frozen=True)
class ChangeDelivery:
    order_id: UUID
    ship_to: ShipTo
    method: Method
    service_level: str
    pickup_location: str | None


@dataclass(frozen=True)
class ChangePriority:
    order_id: UUID
    priority: str  # normal or high


@dataclass(frozen=True)
class RequestRefund:
    order_id: UUID
    refund_id: str
    amount: Decimal
    lines: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class RouteSaga:
    """Plan a saga due for routing again (the worker's), unless it moved on meanwhile."""

    order_id: UUID
    expected_round: int


# --- orchestration's view of inventory (projected from inventory's events) -----------------


@dataclass(frozen=True)
class ProjectLocation:
    code: str
    type: str
    active: bool
    capabilities: tuple[str, ...]
    country: str
    latitude: float | None
    longitude: float | None
    priority: int
    daily_capacity: int | None
    processing_days: int
    cutoff: time | None
    timezone: str
    version: int


@dataclass(frozen=True)
class ProjectStock:
    sku: str
    location_code: str
    available: int


@dataclass(frozen=True)
class ProjectIncoming:
    sku: str
    location_code: str
    incoming: int


@dataclass(frozen=True)
class SweepOverdue:
    """Compensate the saga longest past its deadline that no other transaction holds."""


@dataclass(frozen=True)
class KeepPaymentToken:
    """The token order-capture sent for an order's authorisation (None: the channel gave
    none); it may come before or after the order's saga starts."""

    order_id: UUID
    token: str | None


@dataclass(frozen=True)
class RecordPaymentAnswer:
    operation_id: UUID
    result: ProviderResult | None  # None: the provider timed out, try again later
    # The operation's order: its saga is locked first, then the operation (one lock order).
    order_id: UUID
    # No answer because the order's payment token has not arrived yet: not the provider's
    # fault, and said so if it never comes.
    token_missing: bool = False


@dataclass(frozen=True)
class ActOnFulfillment:
    fulfillment_id: UUID
    action: Action
    reason: str | None = None
    picked: Mapping[str, int] | None = None  # line id -> units found; None: all of them
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    # Whose report it is: the channels and locations it may act on (None: any). A fulfilment
    # order outside them is not found, exactly like one that does not exist.
    channels: frozenset[str] | None = None
    locations: frozenset[str] | None = None


@dataclass(frozen=True)
class PutStrategy:
    body: Mapping[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class PutCarrierRates:
    body: Mapping[str, Any]
    expected_version: int | None


@dataclass(frozen=True)
class PutReviewRules:
    body: Mapping[str, Any]
    expected_version: int | None


class OrderAction(StrEnum):
    """What a person does to an order over orchestration's API."""

    HOLD = "hold"  # POST /v1/orders/{id}/hold
    RELEASE = "release"  # POST /v1/orders/{id}/release
    PAYMENT = "payment"  # POST /v1/orders/{id}/payment: a new payment method
    APPROVE = "approve"  # POST /v1/orders/{id}/approve: a review's approval
    REJECT = "reject"  # POST /v1/orders/{id}/reject: a review's rejection


@dataclass(frozen=True)
class ActOnOrder:
    order_id: UUID
    action: OrderAction
    text: str = ""  # the note, the payment token or the reason
    channels: frozenset[str] | None = None  # the caller's narrowing: another channel's is 404
    idempotency_key: str | None = None
    fingerprint: str = ""
