"""Events published by order-capture on oms.order.events.

Every event carries the order's `sequence`: 1 for oms.order.placed, then +1 for each later
event of the same order, so a subscriber that sees 7 after 5 knows it missed one.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from libs.contracts.base import OrderEvent
from libs.messaging.topics import ORDER_EVENTS


class SequencedOrderEvent(OrderEvent):
    order_number: str
    sequence: int = Field(ge=1, description="Per-order event number; rises by exactly 1")


class PlacedOrderLine(BaseModel):
    line_id: str
    sku: str
    quantity: int = Field(gt=0)
    unit_price: Decimal
    discount_amount: Decimal = Decimal("0")
    tax_amount: Decimal = Decimal("0")
    line_total: Decimal | None = None
    name: str | None = None


class EventCustomer(BaseModel):
    id: str | None = None
    email: str
    name: str
    phone: str | None = None


class EventAddress(BaseModel):
    name: str
    line1: str
    line2: str | None = None
    city: str
    postal_code: str
    region: str | None = None
    country: str
    lat: float | None = None
    lon: float | None = None


class EventDelivery(BaseModel):
    method: str
    service_level: str
    pickup_location_code: str | None = None


class EventPayment(BaseModel):
    """The payment the channel took. Never its token: orchestration receives that on
    oms.payments.commands, which no other service reads."""

    method: str
    amount: Decimal
    authorization_ref: str | None = None


class EventTotals(BaseModel):
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    shipping_amount: Decimal
    grand_total: Decimal


class OrderPlaced(SequencedOrderEvent):
    """A new order was accepted from a sales channel and awaits stock and payment."""

    event_type: ClassVar[str] = "oms.order.placed"
    version: ClassVar[int] = 2
    topic: ClassVar[str] = ORDER_EVENTS

    channel: str
    channel_order_ref: str
    currency: str
    customer_email: str
    lines: list[PlacedOrderLine]
    total_amount: Decimal = Field(description="The grand total (same as totals.grand_total)")
    placed_at: datetime
    sequence: int = 1
    customer: EventCustomer | None = None
    shipping_address: EventAddress | None = None
    billing_address: EventAddress | None = None
    delivery: EventDelivery | None = None
    payment: EventPayment | None = None
    totals: EventTotals | None = None
    requested_delivery_date: date | None = Field(
        None,
        description='The day the customer needs the order by ("deliver by"); orchestration '
        "prefers locations that can deliver by it",
    )
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)


class OrderUpdated(SequencedOrderEvent):
    """The channel or the customer edited the order before anything shipped.

    `replan_required` is true when the address or delivery changed: whatever has not been
    picked must be planned again.
    """

    event_type: ClassVar[str] = "oms.order.updated"
    topic: ClassVar[str] = ORDER_EVENTS

    changed_fields: list[str]
    replan_required: bool
    shipping_address: EventAddress
    delivery: EventDelivery
    customer: EventCustomer
    notes: str | None = None
    updated_at: datetime


class CancelledQuantity(BaseModel):
    line_id: str
    sku: str
    quantity: int = Field(gt=0)


class OrderCancellationRequested(SequencedOrderEvent):
    """Units the customer or channel cancelled: release their stock, stop their fulfilment.

    The units are already counted as cancelled on the order. Should a parcel with them leave
    anyway, the shipment report wins and the units count as shipped.
    """

    event_type: ClassVar[str] = "oms.order.cancellation_requested"
    topic: ClassVar[str] = ORDER_EVENTS

    cancellation_id: str
    requested_by: str = Field(description="channel, customer or agent")
    reason: str
    lines: list[CancelledQuantity]
    whole_order: bool
    requested_at: datetime


class OrderCancelled(SequencedOrderEvent):
    """Every unit of the order is cancelled; the order is finished."""

    event_type: ClassVar[str] = "oms.order.cancelled"
    topic: ClassVar[str] = ORDER_EVENTS

    reason: str
    cancelled_at: datetime


class OrderPriorityChanged(SequencedOrderEvent):
    """The channel or an agent expedited the order (`high`) or took it back to `normal`. A
    high-priority order is first in line for incoming stock (its backorders are served
    before those of normal orders placed earlier)."""

    event_type: ClassVar[str] = "oms.order.priority_changed"
    topic: ClassVar[str] = ORDER_EVENTS

    priority: Literal["normal", "high"]
    previous_priority: Literal["normal", "high"]
    reason: str = Field(description="Why, in words a person can read")
    changed_at: datetime


class OrderStatusChanged(SequencedOrderEvent):
    """The order's status moved; `reason` says why, in words a person can read."""

    event_type: ClassVar[str] = "oms.order.status_changed"
    topic: ClassVar[str] = ORDER_EVENTS

    previous_status: str
    status: str
    reason: str
    source: str = Field(default="order-capture", description="The service whose report moved it")
    changed_at: datetime
