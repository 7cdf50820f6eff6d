"""The order aggregate: its lines, its status and the transitions between statuses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from services.order_capture.domain import events
from services.order_capture.domain.errors import DuplicateSku


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    BACKORDERED = "backordered"


@dataclass
class OrderLine:
    id: UUID
    sku: str
    quantity: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class Order:
    id: UUID
    order_number: str
    channel: str
    channel_order_ref: str
    currency: str
    customer_email: str
    customer_name: str
    lines: list[OrderLine]
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    version: int = 1
    events: list[events.DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def place(
        cls,
        *,
        id: UUID,
        order_number: str,
        channel: str,
        channel_order_ref: str,
        currency: str,
        customer_email: str,
        customer_name: str,
        lines: list[OrderLine],
        now: datetime,
    ) -> Order:
        skus = [line.sku for line in lines]
        duplicates = sorted({s for s in skus if skus.count(s) > 1})
        if duplicates:
            # Refused rather than merged: two lines of one SKU usually mean a client bug
            # (a double add-to-cart), and merging would hide it from the channel.
            raise DuplicateSku(
                f"SKU(s) on more than one line: {', '.join(duplicates)}", skus=duplicates
            )
        order = cls(
            id=id,
            order_number=order_number,
            channel=channel,
            channel_order_ref=channel_order_ref,
            currency=currency,
            customer_email=customer_email,
            customer_name=customer_name,
            lines=lines,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        order.events.append(events.OrderPlaced())
        return order

    @property
    def total_amount(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0"))

    def confirm_stock_reserved(self, *, now: datetime) -> None:
        self._move(OrderStatus.CONFIRMED, reason="stock reserved for every line", now=now)

    def record_stock_shortage(self, *, reason: str, now: datetime) -> None:
        self._move(OrderStatus.BACKORDERED, reason=reason, now=now)

    def _move(self, target: OrderStatus, *, reason: str, now: datetime) -> None:
        # Only a pending order moves on an inventory answer; a repeated or late answer for an
        # order that already moved changes nothing (redelivery must not double-apply).
        if self.status is not OrderStatus.PENDING:
            return
        previous, self.status, self.updated_at = self.status, target, now
        self.version += 1
        self.events.append(events.OrderStatusChanged(previous, target, reason, now))
