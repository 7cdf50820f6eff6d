"""The pieces a return is made of: its states, lines, receipts, refunds, label, exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from services.returns.domain.money import Quote
from services.returns.domain.policy import Condition, Disposition, Payer, Reason


class Status(StrEnum):
    REQUESTED = "requested"  # waits for a person to review it
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_TRANSIT = "in_transit"  # dropped off with the carrier or at the store
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    REFUNDED = "refunded"  # every unit back and its money settled
    CLOSED = "closed"


RECEIVABLE = (Status.APPROVED, Status.IN_TRANSIT, Status.PARTIALLY_RECEIVED)


class Method(StrEnum):
    MAIL = "mail"
    IN_STORE = "in_store"


class ResolutionKind(StrEnum):
    REFUND = "refund"
    EXCHANGE = "exchange"
    STORE_CREDIT = "store_credit"


@dataclass(frozen=True)
class Resolution:
    kind: ResolutionKind
    replacement_sku: str | None = None
    replacement_unit_price: Decimal | None = None  # None: the returned line's unit price


@dataclass
class ReturnLine:
    line_id: UUID
    sku: str
    quantity: int
    reason: Reason
    comment: str | None = None
    received: dict[Condition, int] = field(default_factory=dict)
    settled: int = 0  # units whose money (or replacement) has been decided

    @property
    def received_units(self) -> int:
        return sum(self.received.values())

    @property
    def outstanding(self) -> int:
        """Units still expected back."""
        return self.quantity - self.received_units

    @property
    def unsettled(self) -> int:
        """Units whose money (or replacement) is not decided yet."""
        return self.quantity - self.settled


@dataclass(frozen=True)
class ReceiptLine:
    line_id: UUID
    quantity: int
    condition: Condition
    disposition: Disposition


@dataclass(frozen=True)
class Receipt:
    id: UUID
    location_code: str
    lines: tuple[ReceiptLine, ...]
    at: datetime


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class Refund:
    id: str
    method: str  # payment | store_credit
    quote: Quote
    status: RefundStatus
    requested_at: datetime
    settled_at: datetime | None = None
    reason: str | None = None
    retried: bool = False  # a failed refund asked for again (by a new refund)

    @property
    def amount(self) -> Decimal:
        return self.quote.amount

    @property
    def open(self) -> bool:
        """Still waiting for an answer, or failed and not asked for again."""
        return self.status is RefundStatus.REQUESTED or (
            self.status is RefundStatus.FAILED and not self.retried
        )


@dataclass(frozen=True)
class Label:
    carrier: str
    service: str
    tracking_number: str
    paid_by: Payer


@dataclass
class Exchange:
    sku: str
    units: int
    unit_price: Decimal
    credit: Decimal
    status: str = "pending"  # pending | placed | failed
    order_id: UUID | None = None
    reason: str | None = None

    @property
    def difference(self) -> Decimal:
        return self.unit_price * self.units - self.credit


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    name: str
    detail: str
