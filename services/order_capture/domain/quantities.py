"""Per-line quantity buckets, and the moves between them that the other services report.

Before shipment every open unit is in exactly one stage: waiting (nothing known yet),
backordered, reserved (stock held) or allocated (in a fulfilment order at a location). Shipped,
delivered, returned, refunded and cancelled are running totals.

Every move takes units only from *earlier* stages and is clamped to what is there, so a late
or repeated report can never move a unit backwards: a reservation that arrives after the
shipment finds no waiting units and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class LineQuantities:
    ordered: int
    reserved: int = 0
    backordered: int = 0
    allocated: int = 0
    shipped: int = 0
    delivered: int = 0
    cancelled: int = 0
    returned: int = 0
    refunded: int = 0

    @property
    def open(self) -> int:
        """Units the customer still wants (ordered minus cancelled)."""
        return self.ordered - self.cancelled

    @property
    def unshipped(self) -> int:
        """Open units that have not left a location: the ones a cancellation may still take."""
        return self.open - self.shipped

    @property
    def waiting(self) -> int:
        return self.unshipped - self.backordered - self.reserved - self.allocated

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def _take(self, wanted: int, stages: tuple[str, ...]) -> int:
        """Remove up to `wanted` units from `stages`, in order; returns how many were taken."""
        # `waiting` is derived from the other stages, so it is read once, before any of them
        # shrinks: units taken from an earlier stage must not look waiting a moment later.
        waiting = self.waiting
        taken = 0
        for stage in stages:
            available = waiting if stage == "waiting" else getattr(self, stage)
            step = min(available, wanted - taken)
            if stage != "waiting":
                setattr(self, stage, available - step)
            taken += step
        return taken

    def backorder(self, quantity: int) -> int:
        moved = self._take(quantity, ("waiting",))
        self.backordered += moved
        return moved

    def reserve(self, quantity: int) -> int:
        moved = self._take(quantity, ("backordered", "waiting"))
        self.reserved += moved
        return moved

    def release(self, quantity: int) -> int:
        """Stock no longer held (re-routing, expiry): the units wait again."""
        return self._take(quantity, ("reserved",))

    def allocate(self, quantity: int) -> int:
        moved = self._take(quantity, ("reserved", "waiting", "backordered"))
        self.allocated += moved
        return moved

    def ship(self, quantity: int) -> tuple[int, int]:
        """Returns (units shipped, of which were cancelled before the parcel was reported).

        Goods that left the building are shipped whatever the books say: a cancellation that
        reached the location too late is overtaken, and the customer keeps (or returns) them.
        """
        moved = self._take(quantity, ("allocated", "reserved", "waiting", "backordered"))
        overtaken = min(quantity - moved, self.cancelled)
        self.cancelled -= overtaken
        self.shipped += moved + overtaken
        return moved + overtaken, overtaken

    def deliver(self, quantity: int) -> int:
        moved = min(quantity, self.shipped - self.delivered)
        self.delivered += moved
        return moved

    def return_(self, quantity: int) -> int:
        # Against shipped, not delivered: a parcel can come back without a delivery scan.
        moved = min(quantity, self.shipped - self.returned)
        self.returned += moved
        return moved

    def refund(self, quantity: int) -> int:
        moved = min(quantity, self.ordered - self.refunded)
        self.refunded += moved
        return moved

    def cancel(self, quantity: int) -> int:
        """Cancel up to `quantity` unshipped units, taking the least advanced ones first."""
        moved = self._take(quantity, ("waiting", "backordered", "reserved", "allocated"))
        self.cancelled += moved
        return moved
