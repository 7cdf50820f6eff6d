"""Events published by orchestration on oms.orchestration.events.

Order-capture turns them into line quantities and status. Lines are named by the `line_id`
that oms.order.placed carried. Each report has its own id (fulfilment, shipment, refund...)
so that a report repeated under another event id still applies only once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field

from libs.contracts.base import OrderEvent
from libs.messaging.topics import ORCHESTRATION_EVENTS


class LineQuantity(BaseModel):
    line_id: str
    quantity: int = Field(gt=0)


class _OrchestrationEvent(OrderEvent):
    topic: ClassVar[str] = ORCHESTRATION_EVENTS


class OrderHeld(_OrchestrationEvent):
    """The order stopped before fulfilment (payment declined, fraud review...)."""

    event_type: ClassVar[str] = "oms.orchestration.order_held"

    hold_id: str
    reason: str
    held_at: datetime


class OrderHoldReleased(_OrchestrationEvent):
    event_type: ClassVar[str] = "oms.orchestration.order_hold_released"

    hold_id: str
    reason: str
    released_at: datetime


class FulfillmentCreated(_OrchestrationEvent):
    """Units were handed to a location as a fulfilment order (ship from warehouse or store,
    or click & collect)."""

    event_type: ClassVar[str] = "oms.orchestration.fulfillment_created"

    fulfillment_id: str
    location_code: str
    lines: list[LineQuantity]
    created_at: datetime


class ShipmentDispatched(_OrchestrationEvent):
    """A parcel left a location with these units."""

    event_type: ClassVar[str] = "oms.orchestration.shipment_dispatched"

    shipment_id: str
    fulfillment_id: str
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    lines: list[LineQuantity]
    shipped_at: datetime


class ShipmentDelivered(_OrchestrationEvent):
    """The carrier (or the store, for a collection) handed the parcel to the customer."""

    event_type: ClassVar[str] = "oms.orchestration.shipment_delivered"

    shipment_id: str
    lines: list[LineQuantity]
    delivered_at: datetime


class PaymentRefunded(_OrchestrationEvent):
    """Money went back to the customer for these units (the payment provider confirmed it)."""

    event_type: ClassVar[str] = "oms.orchestration.payment_refunded"

    refund_id: str
    amount: Decimal
    currency: str
    lines: list[LineQuantity]
    refunded_at: datetime


class OrderCompleted(_OrchestrationEvent):
    """Everything was delivered and the payment captured: nothing is left to do."""

    event_type: ClassVar[str] = "oms.orchestration.order_completed"

    completed_at: datetime
