"""What happened to an order in orchestration, as the saga records it.

Plain frozen dataclasses: the saga appends them to `saga.events` in the order they happen,
and messaging/publications.py turns each into the integration event the outbox publishes
(an orchestration event, or a command to inventory). They carry what the published events
carry, field for field, so that the translation adds nothing and leaves nothing out.
`DomainEvent` is the union of them all: the translation matches it exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# --- parts of events ------------------------------------------------------------------------


@dataclass(frozen=True)
class LineQuantity:
    """Units of an order line."""

    line_id: str
    quantity: int


@dataclass(frozen=True)
class SkuLineQuantity:
    """Units of an order line, with its SKU."""

    line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class RoutedPart:
    """What one location serves of a routing decision or a reservation."""

    location_code: str
    lines: tuple[SkuLineQuantity, ...]
    backordered: int  # units of this part promised from incoming stock
    carrier: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class CandidateVerdict:
    location_code: str
    eligible: bool
    failed_filter: str | None  # the first hard filter it failed
    reason: str
    total: float | None  # weighted score, for eligible locations


@dataclass(frozen=True)
class RequestedStock:
    """Units of a line asked of a location's stock."""

    sku: str
    quantity: int
    location_code: str
    line_id: str


@dataclass(frozen=True)
class StockUnits:
    """Units of a SKU at a location, released or taken off stock."""

    sku: str
    quantity: int
    location_code: str


# --- asked of inventory ---------------------------------------------------------------------


@dataclass(frozen=True)
class StockReservationRequested:
    """The saga asked inventory to reserve a routing decision's units."""

    order_id: str
    reservation_id: str
    lines: tuple[RequestedStock, ...]
    allow_backorder: bool
    ordered_at: datetime
    priority: int = 0  # the order's place in the backorder queue (higher first)


@dataclass(frozen=True)
class StockReleaseRequested:
    """The saga gave back units a reservation holds (cancelled, re-planned, compensated)."""

    order_id: str
    reservation_id: str
    reason: str
    lines: tuple[StockUnits, ...]


@dataclass(frozen=True)
class StockCommitRequested:
    """Units of a reservation left with a shipment: off stock for good."""

    order_id: str
    reservation_id: str
    lines: tuple[StockUnits, ...]
    shipment_id: str


# --- routing and the order's course ---------------------------------------------------------


@dataclass(frozen=True)
class RoutingDecided:
    order_id: str
    decision_id: str
    round: int
    outcome: str
    strategy_version: int
    parts: tuple[RoutedPart, ...]
    candidates: tuple[CandidateVerdict, ...]
    candidates_considered: int
    explanation: str
    decided_at: datetime


@dataclass(frozen=True)
class OrderRouted:
    order_id: str
    decision_id: str
    reservation_id: str
    parts: tuple[RoutedPart, ...]
    routed_at: datetime


@dataclass(frozen=True)
class OrderBackordered:
    order_id: str
    reservation_id: str
    lines: tuple[SkuLineQuantity, ...]
    expected_at: datetime | None
    backordered_at: datetime


@dataclass(frozen=True)
class OrderDelayed:
    order_id: str
    delay_id: str
    reason_code: str
    reason: str
    lines: tuple[SkuLineQuantity, ...]
    previous_estimate: datetime | None
    new_estimate: datetime | None
    delayed_at: datetime


@dataclass(frozen=True)
class OrderOnHold:
    order_id: str
    hold_id: str
    reason: str
    reason_code: str
    held_at: datetime


@dataclass(frozen=True)
class OrderHoldReleased:
    order_id: str
    hold_id: str
    reason: str
    reason_code: str
    released_at: datetime


@dataclass(frozen=True)
class PaymentRecoveryExpired:
    order_id: str
    hold_id: str
    reason: str
    expired_at: datetime


@dataclass(frozen=True)
class OrderRejected:
    order_id: str
    hold_id: str
    reason: str
    rejected_at: datetime


@dataclass(frozen=True)
class OrderCompleted:
    order_id: str
    completed_at: datetime


# --- fulfilment orders ----------------------------------------------------------------------


@dataclass(frozen=True)
class FulfillmentCreated:
    order_id: str
    fulfillment_id: str
    location_code: str
    method: str
    lines: tuple[LineQuantity, ...]
    created_at: datetime


@dataclass(frozen=True)
class FulfillmentAccepted:
    order_id: str
    fulfillment_id: str
    location_code: str
    accepted_at: datetime


@dataclass(frozen=True)
class FulfillmentRejected:
    order_id: str
    fulfillment_id: str
    location_code: str
    reason: str
    lines: tuple[LineQuantity, ...]
    rejected_at: datetime


@dataclass(frozen=True)
class FulfillmentPicked:
    order_id: str
    fulfillment_id: str
    location_code: str
    lines: tuple[LineQuantity, ...]
    short: tuple[LineQuantity, ...]
    picked_at: datetime


@dataclass(frozen=True)
class FulfillmentPacked:
    order_id: str
    fulfillment_id: str
    location_code: str
    packed_at: datetime


@dataclass(frozen=True)
class FulfillmentCancelled:
    order_id: str
    fulfillment_id: str
    location_code: str
    reason: str
    lines: tuple[LineQuantity, ...]
    cancelled_at: datetime


@dataclass(frozen=True)
class FulfillmentShipped:
    order_id: str
    fulfillment_id: str
    location_code: str
    shipment_id: str
    carrier: str
    service: str | None
    tracking_number: str
    tracking_url: str | None
    lines: tuple[LineQuantity, ...]
    shipped_at: datetime


@dataclass(frozen=True)
class FulfillmentReadyForPickup:
    order_id: str
    fulfillment_id: str
    location_code: str
    ready_at: datetime


@dataclass(frozen=True)
class FulfillmentCollected:
    order_id: str
    fulfillment_id: str
    location_code: str
    shipment_id: str
    lines: tuple[LineQuantity, ...]
    collected_at: datetime


@dataclass(frozen=True)
class FulfillmentDelivered:
    order_id: str
    fulfillment_id: str
    location_code: str
    shipment_id: str
    lines: tuple[LineQuantity, ...]
    delivered_at: datetime


# --- payments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentAuthorized:
    order_id: str
    payment_id: str
    amount: Decimal
    currency: str
    provider_reference: str
    authorized_at: datetime


@dataclass(frozen=True)
class PaymentDeclined:
    order_id: str
    payment_id: str
    amount: Decimal
    currency: str
    code: str
    reason: str
    resolution: str  # on_hold or cancel: what the declined-payment policy did
    declined_at: datetime


@dataclass(frozen=True)
class PaymentCaptured:
    order_id: str
    payment_id: str
    amount: Decimal
    currency: str
    provider_reference: str
    shipment_id: str | None
    captured_at: datetime


@dataclass(frozen=True)
class PaymentVoided:
    order_id: str
    payment_id: str
    amount: Decimal
    currency: str
    voided_at: datetime


@dataclass(frozen=True)
class PaymentRefunded:
    order_id: str
    payment_id: str
    amount: Decimal
    currency: str
    refund_id: str
    lines: tuple[LineQuantity, ...]
    refunded_at: datetime


@dataclass(frozen=True)
class PaymentRefundFailed:
    order_id: str
    payment_id: str
    amount: Decimal
    currency: str
    refund_id: str
    reason: str
    failed_at: datetime


DomainEvent = (
    StockReservationRequested
    | StockReleaseRequested
    | StockCommitRequested
    | RoutingDecided
    | OrderRouted
    | OrderBackordered
    | OrderDelayed
    | OrderOnHold
    | OrderHoldReleased
    | PaymentRecoveryExpired
    | OrderRejected
    | OrderCompleted
    | FulfillmentCreated
    | FulfillmentAccepted
    | FulfillmentRejected
    | FulfillmentPicked
    | FulfillmentPacked
    | FulfillmentCancelled
    | FulfillmentShipped
    | FulfillmentReadyForPickup
    | FulfillmentCollected
    | FulfillmentDelivered
    | PaymentAuthorized
    | PaymentDeclined
    | PaymentCaptured
    | PaymentVoided
    | PaymentRefunded
    | PaymentRefundFailed
)
