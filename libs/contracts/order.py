"""Events published by order-capture on oms.order.events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field

from libs.contracts.base import OrderEvent
from libs.messaging.topics import ORDER_EVENTS


class PlacedOrderLine(BaseModel):
    line_id: str
    sku: str
    quantity: int = Field(gt=0)
    unit_price: Decimal


class OrderPlaced(OrderEvent):
    """A new order was accepted from a sales channel and awaits stock and payment."""

    event_type: ClassVar[str] = "oms.order.placed"
    topic: ClassVar[str] = ORDER_EVENTS

    order_number: str
    channel: str
    channel_order_ref: str
    currency: str
    customer_email: str
    lines: list[PlacedOrderLine]
    total_amount: Decimal
    placed_at: datetime


class OrderStatusChanged(OrderEvent):
    """The order's status moved; `reason` says why, in words a person can read."""

    event_type: ClassVar[str] = "oms.order.status_changed"
    topic: ClassVar[str] = ORDER_EVENTS

    order_number: str
    previous_status: str
    status: str
    reason: str
    changed_at: datetime
