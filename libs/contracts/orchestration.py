"""Events published by orchestration on oms.orchestration.events.

Order-capture turns them into line quantities and status; returns builds its view of what
was delivered from them. Lines are named by the `line_id` that oms.order.placed carried. Each
report has its own id (fulfilment, shipment, payment operation...) so that a report repeated
under another event id still applies only once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field

from libs.contracts.base import OrderCommand, OrderEvent
from libs.messaging.topics import ORCHESTRATION_EVENTS, PAYMENT_COMMANDS


class LineQuantity(BaseModel):
    line_id: str
    quantity: int = Field(gt=0)


class SkuLineQuantity(LineQuantity):
    sku: str


class _OrchestrationEvent(OrderEvent):
    topic: ClassVar[str] = ORCHESTRATION_EVENTS


# --- payment tokens (a private command topic) ----------------------------------------------


class AuthorizeWith(OrderCommand):
    """The payment token to authorise the order's total with, sent by order-capture with the
    order. A token is a secret of the payment provider: it travels only here, on a topic that
    orchestration alone reads, never on oms.order.events or to a webhook."""

    event_type: ClassVar[str] = "oms.payments.authorize_with"
    topic: ClassVar[str] = PAYMENT_COMMANDS

    token: str | None = Field(
        None, description="The payment provider's token; null when the channel gave none"
    )


# --- routing --------------------------------------------------------------------------------


class RoutedPart(BaseModel):
    location_code: str
    lines: list[SkuLineQuantity]
    backordered: int = Field(0, description="Units of this part promised from incoming stock")
    carrier: str | None = None
    service: str | None = None


class CandidateVerdict(BaseModel):
    location_code: str
    eligible: bool
    failed_filter: str | None = Field(None, description="The first hard filter it failed")
    reason: str
    total: float | None = Field(None, description="Weighted score, for eligible locations")


class RoutingDecided(_OrchestrationEvent):
    """The routing engine decided where the order (or its remainder) should come from, and
    why. The full decision is at GET /v1/orders/{order_id}/routing-decisions."""

    event_type: ClassVar[str] = "oms.orchestration.routing_decided"

    decision_id: str
    round: int = Field(description="1 for the first plan, +1 for every re-plan")
    outcome: str = Field(description="routed, backordered or unroutable")
    strategy_version: int
    parts: list[RoutedPart]
    candidates: list[CandidateVerdict] = Field(
        description="The chosen locations, then the best of the others (eligible first, by "
        "score), at most 10; every candidate's verdict is in the full decision"
    )
    candidates_considered: int | None = Field(
        None, description="How many locations the engine weighed (the full decision's count)"
    )
    explanation: str
    decided_at: datetime


class OrderRouted(_OrchestrationEvent):
    """The plan holds: inventory reserved its units where the routing decided."""

    event_type: ClassVar[str] = "oms.orchestration.order_routed"

    decision_id: str
    reservation_id: str
    parts: list[RoutedPart]
    routed_at: datetime


class OrderBackordered(_OrchestrationEvent):
    """Part of the order waits for incoming stock; it moves on when the stock arrives."""

    event_type: ClassVar[str] = "oms.orchestration.order_backordered"

    reservation_id: str
    lines: list[SkuLineQuantity]
    expected_at: datetime | None = None
    backordered_at: datetime


class OrderDelayed(_OrchestrationEvent):
    """Units of the order will leave later than promised: tell the customer.

    `reason_code`: inbound_cancelled (the delivery its backorder waited for was cancelled:
    promised from a later one), inbound_rescheduled (that delivery now comes later),
    backorder_lapsed (no delivery covers the units any more:
    routed again, the new estimate follows in the next routing or backorder event) or
    dispatch_overdue (the promised dispatch passed with the units still there, or their stock
    not arrived). Estimates are the end of a dispatch day, as an instant."""

    event_type: ClassVar[str] = "oms.orchestration.order_delayed"

    delay_id: str = Field(description="Names this delay; it applies once")
    reason_code: str
    reason: str
    lines: list[SkuLineQuantity] = Field(description="The units that are late")
    previous_estimate: datetime | None = Field(None, description="When they were promised to leave")
    new_estimate: datetime | None = Field(
        None, description="When they are expected to leave now; null: not known yet"
    )
    delayed_at: datetime


class OrderOnHold(_OrchestrationEvent):
    """The order stopped before fulfilment (payment declined, no location can serve it...)."""

    event_type: ClassVar[str] = "oms.orchestration.order_on_hold"

    hold_id: str
    reason: str
    # unroutable, payment_declined, review, manual or backorder_lapsed (absent in events
    # written before holds had codes).
    reason_code: str | None = None
    held_at: datetime


class OrderHoldReleased(_OrchestrationEvent):
    """The hold `hold_id` ended: the order is planned again from where it stood."""

    event_type: ClassVar[str] = "oms.orchestration.order_hold_released"

    hold_id: str
    reason: str  # the release's note
    reason_code: str | None = None  # the released hold's reason code
    released_at: datetime


class PaymentRecoveryExpired(_OrchestrationEvent):
    """An order held for a declined payment got no new payment method in time: orchestration
    stopped it (its stock was released with the hold) and order-capture cancels it."""

    event_type: ClassVar[str] = "oms.orchestration.payment_recovery_expired"

    hold_id: str
    reason: str
    expired_at: datetime


class OrderRejected(_OrchestrationEvent):
    """A person rejected the order held for review (nothing was reserved or charged):
    order-capture cancels it."""

    event_type: ClassVar[str] = "oms.orchestration.order_rejected"

    hold_id: str
    reason: str
    rejected_at: datetime


class OrderCompleted(_OrchestrationEvent):
    """Everything was delivered (or cancelled) and the payment settled: nothing is left."""

    event_type: ClassVar[str] = "oms.orchestration.order_completed"

    completed_at: datetime


# --- fulfilment orders ----------------------------------------------------------------------


class _FulfillmentEvent(_OrchestrationEvent):
    fulfillment_id: str
    location_code: str


class FulfillmentCreated(_FulfillmentEvent):
    """Units were handed to a location as a fulfilment order (ship from warehouse or store,
    or click & collect)."""

    event_type: ClassVar[str] = "oms.orchestration.fulfillment_created"

    method: str = Field("ship", description="ship or pickup")
    lines: list[LineQuantity]
    created_at: datetime


class FulfillmentAccepted(_FulfillmentEvent):
    event_type: ClassVar[str] = "oms.orchestration.fulfillment_accepted"

    accepted_at: datetime


class FulfillmentRejected(_FulfillmentEvent):
    """The location cannot serve it; its units are re-routed elsewhere."""

    event_type: ClassVar[str] = "oms.orchestration.fulfillment_rejected"

    reason: str
    lines: list[LineQuantity]
    rejected_at: datetime


class FulfillmentPicked(_FulfillmentEvent):
    """Picked units; `short` units could not be found and are re-routed."""

    event_type: ClassVar[str] = "oms.orchestration.fulfillment_picked"

    lines: list[LineQuantity]
    short: list[LineQuantity] = Field(default_factory=list)
    picked_at: datetime


class FulfillmentPacked(_FulfillmentEvent):
    event_type: ClassVar[str] = "oms.orchestration.fulfillment_packed"

    packed_at: datetime


class FulfillmentCancelled(_FulfillmentEvent):
    """Units of the fulfilment order were withdrawn (cancelled, or re-planned elsewhere)."""

    event_type: ClassVar[str] = "oms.orchestration.fulfillment_cancelled"

    reason: str
    lines: list[LineQuantity]
    cancelled_at: datetime


class FulfillmentShipped(_FulfillmentEvent):
    """A parcel left the location with these units."""

    event_type: ClassVar[str] = "oms.orchestration.fulfillment_shipped"

    shipment_id: str
    carrier: str
    service: str | None = None
    tracking_number: str
    tracking_url: str | None = None
    lines: list[LineQuantity]
    shipped_at: datetime


class FulfillmentReadyForPickup(_FulfillmentEvent):
    event_type: ClassVar[str] = "oms.orchestration.fulfillment_ready_for_pickup"

    ready_at: datetime


class FulfillmentCollected(_FulfillmentEvent):
    """The customer collected the units at the store: shipped and delivered in one step."""

    event_type: ClassVar[str] = "oms.orchestration.fulfillment_collected"

    shipment_id: str
    lines: list[LineQuantity]
    collected_at: datetime


class FulfillmentDelivered(_FulfillmentEvent):
    """The carrier handed the parcel to the customer."""

    event_type: ClassVar[str] = "oms.orchestration.fulfillment_delivered"

    shipment_id: str
    lines: list[LineQuantity]
    delivered_at: datetime


# --- payments -------------------------------------------------------------------------------


class _PaymentEvent(_OrchestrationEvent):
    payment_id: str = Field(description="The payment operation; applies once")
    amount: Decimal
    currency: str


class PaymentAuthorized(_PaymentEvent):
    event_type: ClassVar[str] = "oms.orchestration.payment_authorized"

    provider_reference: str
    authorized_at: datetime


class PaymentDeclined(_PaymentEvent):
    """The provider refused the authorisation; the reservation is released."""

    event_type: ClassVar[str] = "oms.orchestration.payment_declined"

    code: str = Field(description="declined, insufficient_funds, ...")
    reason: str
    resolution: str = Field(description="on_hold or cancel: what the declined-payment policy did")
    declined_at: datetime


class PaymentCaptured(_PaymentEvent):
    event_type: ClassVar[str] = "oms.orchestration.payment_captured"

    provider_reference: str
    shipment_id: str | None = None
    captured_at: datetime


class PaymentVoided(_PaymentEvent):
    """The part of the authorisation that will never be captured was given back."""

    event_type: ClassVar[str] = "oms.orchestration.payment_voided"

    voided_at: datetime


class PaymentRefunded(_PaymentEvent):
    """Money went back to the customer for these units (the payment provider confirmed it)."""

    event_type: ClassVar[str] = "oms.orchestration.payment_refunded"

    refund_id: str = Field(description="The refund request this answers")
    lines: list[LineQuantity]
    refunded_at: datetime


class PaymentRefundFailed(_PaymentEvent):
    event_type: ClassVar[str] = "oms.orchestration.payment_refund_failed"

    refund_id: str
    reason: str
    failed_at: datetime
