"""One location's counters of one SKU, and the movements that change them.

Every change is a `Movement`: a delta of on hand and of reserved with a reason. The ledger
stores each one, so the counters can always be re-derived and audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.inventory.domain.errors import (
    AdjustmentSignMismatch,
    InsufficientStock,
    NotEnoughOnHand,
    OnHandBelowReserved,
)


class Reason(StrEnum):
    # Adjustments a person or a WMS reports.
    RECEIVED = "received"
    DAMAGED = "damaged"
    LOST = "lost"
    FOUND = "found"
    COUNT_CORRECTION = "count_correction"
    # Movements inventory makes itself.
    COUNTED = "counted"
    IMPORTED = "imported"
    INBOUND_RECEIVED = "inbound_received"
    RETURN_RESTOCKED = "return_restocked"
    RESERVED = "reserved"
    BACKORDER_ALLOCATED = "backorder_allocated"
    RELEASED = "released"
    EXPIRED = "expired"
    COMMITTED = "committed"


ADJUSTMENT_REASONS = (
    Reason.RECEIVED,
    Reason.DAMAGED,
    Reason.LOST,
    Reason.FOUND,
    Reason.COUNT_CORRECTION,
)
_ONLY_UP = {Reason.RECEIVED, Reason.FOUND}
_ONLY_DOWN = {Reason.DAMAGED, Reason.LOST}


@dataclass(frozen=True)
class Movement:
    reason: Reason
    on_hand_delta: int = 0
    reserved_delta: int = 0
    reference: str | None = None
    note: str | None = None

    @property
    def takes_available(self) -> bool:
        """A new hold on stock already on hand (not units leaving the building)."""
        return self.reserved_delta > 0 and self.on_hand_delta == 0


@dataclass
class StockLevel:
    location_code: str
    sku: str
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.location_code, self.sku)

    @property
    def available(self) -> int:
        """What a new reservation may take: never the safety stock, never below zero."""
        return max(self.on_hand - self.reserved - self.safety_stock, 0)

    def apply(self, movement: Movement) -> None:
        """Change the counters, refusing anything that would oversell or go negative."""
        if movement.takes_available and movement.reserved_delta > self.available:
            raise InsufficientStock(
                f"{self.sku} at {self.location_code}: {movement.reserved_delta} wanted, "
                f"{self.available} available"
            )
        on_hand = self.on_hand + movement.on_hand_delta
        reserved = self.reserved + movement.reserved_delta
        if reserved < 0:
            raise ValueError(f"{self.key}: reserved would drop below zero ({reserved})")
        if on_hand < 0:
            raise NotEnoughOnHand(
                f"{self.sku} at {self.location_code}: {-movement.on_hand_delta} to remove, "
                f"{self.on_hand} on hand",
                on_hand=self.on_hand,
            )
        if on_hand < reserved:
            raise OnHandBelowReserved(
                f"{self.sku} at {self.location_code}: on hand {on_hand} would be below the "
                f"{reserved} units reserved; release or re-route reservations first",
                on_hand=on_hand,
                reserved=reserved,
            )
        self.on_hand, self.reserved = on_hand, reserved

    def count(self, on_hand: int, *, reason: Reason = Reason.COUNTED) -> Movement | None:
        """A counted quantity from a WMS or ERP: the movement that gets there, if any."""
        if on_hand == self.on_hand:
            return None
        return Movement(reason=reason, on_hand_delta=on_hand - self.on_hand)

    def set_safety_stock(self, safety_stock: int) -> bool:
        changed = safety_stock != self.safety_stock
        self.safety_stock = safety_stock
        return changed


def adjustment(reason: Reason, delta: int, *, note: str | None = None) -> Movement:
    """A reported change of on hand; the reason must fit the direction."""
    if reason not in ADJUSTMENT_REASONS:
        raise AdjustmentSignMismatch(f"{reason.value!r} is not an adjustment reason")
    if delta == 0:
        raise AdjustmentSignMismatch("an adjustment's delta cannot be 0")
    if (reason in _ONLY_UP and delta < 0) or (reason in _ONLY_DOWN and delta > 0):
        direction = "add" if reason in _ONLY_UP else "remove"
        raise AdjustmentSignMismatch(f"{reason.value!r} can only {direction} units (got {delta})")
    return Movement(reason=reason, on_hand_delta=delta, note=note)


@dataclass
class TouchedLevel:
    """A stock row changed in this transaction: its state now, and what it was before."""

    level: StockLevel
    available_before: int
    reasons: list[str] = field(default_factory=list)

    @property
    def freed_nothing(self) -> bool:
        """Every change was a new hold or a shipment: none of them can have made a unit
        available (a hold takes units, a shipment takes on hand and reserved alike).

        A row with waiting orders has nothing available whenever a transaction commits (the
        waiting lines are served first), and a backorder is only made at a row after taking
        all it has; so such a row still has nothing for its queue, which need not be read.
        """
        return bool(self.reasons) and all(r in _TAKING for r in self.reasons)


_TAKING = frozenset({Reason.RESERVED.value, Reason.COMMITTED.value})


@dataclass(frozen=True)
class StockFacts:
    """What announcing a transaction's stock changes needs besides the rows themselves."""

    network_available: dict[str, int]  # sku -> available at every active location
    thresholds: dict[str, int]  # sku -> low-stock threshold, for the SKUs that have one
    active: set[str]  # the changed rows' locations that are active
