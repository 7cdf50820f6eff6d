"""Events published by returns on oms.returns.events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field

from libs.contracts.base import OrderEvent
from libs.messaging.topics import RETURNS_EVENTS


class ReturnedLine(BaseModel):
    line_id: str
    quantity: int = Field(gt=0)
    condition: str = Field(description="resellable, damaged or defective")
    sku: str | None = Field(None, description="The returned SKU; inventory restocks by it")


class ReturnReceived(OrderEvent):
    """Returned units arrived at a location and were inspected (one receipt of an RMA)."""

    event_type: ClassVar[str] = "oms.returns.return_received"
    topic: ClassVar[str] = RETURNS_EVENTS

    return_id: str
    receipt_id: str
    location_code: str
    lines: list[ReturnedLine]
    received_at: datetime


class RefundLine(BaseModel):
    line_id: str
    quantity: int = Field(gt=0)


class RefundRequested(OrderEvent):
    """Returns asks orchestration to pay money back; answered by oms.orchestration's
    payment_refunded or payment_refund_failed with the same refund_id."""

    event_type: ClassVar[str] = "oms.returns.refund_requested"
    topic: ClassVar[str] = RETURNS_EVENTS

    return_id: str
    refund_id: str = Field(description="Names the refund; a repeated request pays once")
    amount: Decimal = Field(gt=0)
    currency: str
    lines: list[RefundLine]
    requested_at: datetime
