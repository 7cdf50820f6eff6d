"""Events published by returns on oms.returns.events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field

from libs.contracts.base import OrderEvent
from libs.messaging.topics import RETURNS_EVENTS


class _ReturnEvent(OrderEvent):
    topic: ClassVar[str] = RETURNS_EVENTS

    return_id: str
    rma_number: str


class RequestedLine(BaseModel):
    line_id: str
    sku: str
    quantity: int = Field(gt=0)
    reason: str = Field(
        description="damaged, wrong_item, not_as_described, size_fit, changed_mind or other"
    )


class ReturnRequested(_ReturnEvent):
    """A customer or an agent opened a return (an RMA) for delivered units."""

    event_type: ClassVar[str] = "oms.returns.requested"

    method: str = Field(description="mail or in_store")
    resolution: str = Field(description="refund, exchange or store_credit")
    lines: list[RequestedLine]
    needs_review: bool
    requested_at: datetime


class ReturnApproved(_ReturnEvent):
    event_type: ClassVar[str] = "oms.returns.approved"

    carrier: str | None = Field(None, description="Mail returns: the carrier of the label")
    tracking_number: str | None = None
    approved_at: datetime


class ReturnRejected(_ReturnEvent):
    event_type: ClassVar[str] = "oms.returns.rejected"

    reason: str
    rejected_at: datetime


class ReturnedLine(BaseModel):
    line_id: str
    quantity: int = Field(gt=0)
    condition: str = Field(description="resellable, damaged or defective")
    sku: str | None = Field(None, description="The returned SKU; inventory restocks by it")
    disposition: str = Field(
        "restock", description="restock, quarantine or write_off; only restock goes on sale"
    )


class ReturnReceived(OrderEvent):
    """Returned units arrived at a location and were inspected (one receipt of an RMA)."""

    event_type: ClassVar[str] = "oms.returns.received"
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


class ReturnRefunded(_ReturnEvent):
    """Money (or store credit) went back to the customer for some of the return's units."""

    event_type: ClassVar[str] = "oms.returns.refunded"

    refund_id: str
    method: str = Field(description="payment (the original payment) or store_credit")
    amount: Decimal
    currency: str
    lines: list[RefundLine]
    refunded_at: datetime


class ReturnClosed(_ReturnEvent):
    """Nothing is left to do: every unit is back and its money settled (or the return ended)."""

    event_type: ClassVar[str] = "oms.returns.closed"

    refunded_amount: Decimal
    currency: str
    closed_at: datetime


class ExchangeOrderRequested(_ReturnEvent):
    """An exchange: a replacement order is placed through order-capture, linked to the
    return; a price difference is charged on it or refunded from the original order."""

    event_type: ClassVar[str] = "oms.returns.exchange_order_requested"

    replacement_sku: str
    quantity: int = Field(gt=0)
    unit_price: Decimal
    credit: Decimal = Field(description="What the returned units are worth towards it")
    difference: Decimal = Field(description="Positive: charged on the replacement order")
    currency: str
    requested_at: datetime
