"""Stock levels and the all-or-nothing allocation of an order's lines to them.

Pure: it decides; the handler locks the rows it decides on, so two orders never both take the
last unit (and a CHECK constraint in the database refuses reserved > on_hand as a backstop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.inventory.domain.commands import RequestedLine
from services.inventory.domain.errors import OnHandBelowReserved


@dataclass
class StockLevel:
    location_code: str
    sku: str
    on_hand: int
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def reserve(self, quantity: int) -> None:
        if quantity > self.available:
            raise ValueError(f"cannot reserve {quantity} of {self.sku} at {self.location_code}")
        self.reserved += quantity

    def count(self, on_hand: int) -> None:
        if on_hand < self.reserved:
            raise OnHandBelowReserved(
                f"{self.sku} at {self.location_code}: on_hand {on_hand} < reserved {self.reserved}"
            )
        self.on_hand = on_hand


@dataclass(frozen=True)
class Allocation:
    sku: str
    location_code: str
    quantity: int


@dataclass(frozen=True)
class Shortfall:
    sku: str
    requested: int
    available: int


@dataclass(frozen=True)
class AllocationPlan:
    allocations: list[Allocation]
    shortfalls: list[Shortfall]

    @property
    def complete(self) -> bool:
        return not self.shortfalls


def allocate(
    lines: Sequence[RequestedLine], levels: Mapping[str, Sequence[StockLevel]]
) -> AllocationPlan:
    """Each line from the single location with the most available stock, all lines or none.

    One location per line keeps shipments whole; real routing (distance, cost, splits) belongs
    to orchestration's routing engine and arrives with it.
    """
    allocations: list[Allocation] = []
    shortfalls: list[Shortfall] = []
    for line in lines:
        candidates = sorted(
            levels.get(line.sku, ()), key=lambda lv: (-lv.available, lv.location_code)
        )
        best = candidates[0] if candidates else None
        if best is None or best.available < line.quantity:
            shortfalls.append(Shortfall(line.sku, line.quantity, best.available if best else 0))
        else:
            allocations.append(Allocation(line.sku, best.location_code, line.quantity))
    return AllocationPlan(allocations=[] if shortfalls else allocations, shortfalls=shortfalls)
