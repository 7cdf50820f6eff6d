"""Incoming stock: a delivery expected at a location on a date, received in one go or in
parts, or cancelled. Until received it is promised to backorders, never sold as on hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.inventory.domain.errors import InboundClosed, ReceiveExceedsExpected


class InboundStatus(StrEnum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"  # the rest will not come (some may have been received before)


@dataclass
class Inbound:
    id: UUID
    location_code: str
    sku: str
    quantity: int
    expected_at: datetime
    created_at: datetime
    updated_at: datetime
    received_quantity: int = 0
    cancelled_quantity: int = 0
    reference: str | None = None
    version: int = 1

    @property
    def remaining(self) -> int:
        return self.quantity - self.received_quantity - self.cancelled_quantity

    @property
    def status(self) -> InboundStatus:
        if self.remaining > 0:
            return InboundStatus.OPEN
        return InboundStatus.CANCELLED if self.cancelled_quantity else InboundStatus.RECEIVED

    def receive(self, quantity: int | None, *, now: datetime) -> int:
        """Units that arrived (all that is still expected when not named)."""
        if self.status is not InboundStatus.OPEN:
            raise InboundClosed(f"inbound {self.id} is {self.status.value}")
        arrived = self.remaining if quantity is None else quantity
        if arrived > self.remaining:
            raise ReceiveExceedsExpected(
                f"{arrived} received, {self.remaining} still expected on inbound {self.id}",
                remaining=self.remaining,
            )
        self.received_quantity += arrived
        self._touch(now)
        return arrived

    def reschedule(self, expected_at: datetime, *, now: datetime) -> bool:
        """The rest now comes at another time (the supplier's new date). False when it is
        that time already."""
        if self.status is not InboundStatus.OPEN:
            raise InboundClosed(f"inbound {self.id} is {self.status.value}")
        if expected_at == self.expected_at:
            return False
        self.expected_at = expected_at
        self._touch(now)
        return True

    def cancel(self, *, now: datetime) -> int:
        """The rest will not come. Repeating a cancel changes nothing."""
        if self.status is InboundStatus.CANCELLED:
            return 0
        if self.status is InboundStatus.RECEIVED:
            raise InboundClosed(f"inbound {self.id} is fully received")
        dropped = self.remaining
        self.cancelled_quantity += dropped
        self._touch(now)
        return dropped

    def _touch(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now


@dataclass(frozen=True)
class OpenDelivery:
    """What one delivery still brings to its stock row, and when."""

    inbound_id: UUID
    quantity: int  # still expected
    expected_at: datetime
