"""What happened to a return, as the domain records it: plain frozen dataclasses in the
domain's own types (UUIDs, enums). messaging/publications.py turns each into the integration
event returns publishes on the wire; `ReturnEvent` names them all, so a new one that is not
mapped there fails the type check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from services.returns.domain.parts import Method, ResolutionKind
from services.returns.domain.policy import Condition, Disposition, Reason


@dataclass(frozen=True)
class RequestedLine:
    line_id: UUID
    sku: str
    quantity: int
    reason: Reason


@dataclass(frozen=True)
class ReturnRequested:
    order_id: UUID
    return_id: UUID
    rma_number: str
    method: Method
    resolution: ResolutionKind
    lines: tuple[RequestedLine, ...]
    needs_review: bool
    requested_at: datetime


@dataclass(frozen=True)
class ReturnApproved:
    order_id: UUID
    return_id: UUID
    rma_number: str
    carrier: str | None  # mail returns: the label's carrier and parcel
    tracking_number: str | None
    approved_at: datetime


@dataclass(frozen=True)
class ReturnRejected:
    order_id: UUID
    return_id: UUID
    rma_number: str
    reason: str
    rejected_at: datetime


@dataclass(frozen=True)
class ReceivedLine:
    line_id: UUID
    quantity: int
    condition: Condition
    sku: str
    disposition: Disposition


@dataclass(frozen=True)
class ReturnReceived:
    """One receipt: units arrived at a location and were inspected."""

    order_id: UUID
    return_id: UUID
    receipt_id: UUID
    location_code: str
    lines: tuple[ReceivedLine, ...]
    received_at: datetime


@dataclass(frozen=True)
class RefundLine:
    line_id: UUID
    quantity: int


@dataclass(frozen=True)
class RefundRequested:
    """Money to be paid back by orchestration; its answer names the same refund id."""

    order_id: UUID
    return_id: UUID
    refund_id: str
    amount: Decimal
    currency: str
    lines: tuple[RefundLine, ...]
    requested_at: datetime


@dataclass(frozen=True)
class ReturnRefunded:
    order_id: UUID
    return_id: UUID
    rma_number: str
    refund_id: str
    method: str  # payment (the original payment) or store_credit
    amount: Decimal
    currency: str
    lines: tuple[RefundLine, ...]
    refunded_at: datetime


@dataclass(frozen=True)
class ReturnClosed:
    order_id: UUID
    return_id: UUID
    rma_number: str
    refunded_amount: Decimal
    currency: str
    closed_at: datetime


@dataclass(frozen=True)
class ExchangeOrderRequested:
    order_id: UUID
    return_id: UUID
    rma_number: str
    replacement_sku: str
    quantity: int
    unit_price: Decimal
    credit: Decimal
    difference: Decimal
    currency: str
    requested_at: datetime


# Every event a return records.
ReturnEvent = (
    ReturnRequested
    | ReturnApproved
    | ReturnRejected
    | ReturnReceived
    | RefundRequested
    | ReturnRefunded
    | ReturnClosed
    | ExchangeOrderRequested
)
