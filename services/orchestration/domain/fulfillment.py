"""Fulfilment orders: one location's share of an order, and the actions its system reports.

Each action moves the order along a fixed path; an action out of turn is refused with the
actions allowed now, and an action repeated after it took effect changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.orchestration.domain.errors import ActionNotAllowed


class Status(StrEnum):
    CREATED = "created"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    PICK = "pick"
    PACK = "pack"
    SHIP = "ship"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECT = "collect"
    DELIVER = "deliver"


# The status each action leads to, and the statuses it may be taken from.
RESULT: dict[Action, Status] = {
    Action.ACCEPT: Status.ACCEPTED,
    Action.REJECT: Status.REJECTED,
    Action.PICK: Status.PICKED,
    Action.PACK: Status.PACKED,
    Action.SHIP: Status.SHIPPED,
    Action.READY_FOR_PICKUP: Status.READY_FOR_PICKUP,
    Action.COLLECT: Status.COLLECTED,
    Action.DELIVER: Status.DELIVERED,
}
_NEXT: dict[tuple[str, Status], tuple[Action, ...]] = {
    ("ship", Status.CREATED): (Action.ACCEPT, Action.REJECT),
    ("ship", Status.ACCEPTED): (Action.PICK, Action.REJECT),
    ("ship", Status.PICKED): (Action.PACK,),
    ("ship", Status.PACKED): (Action.SHIP,),
    ("ship", Status.SHIPPED): (Action.DELIVER,),
    ("pickup", Status.CREATED): (Action.ACCEPT, Action.REJECT),
    ("pickup", Status.ACCEPTED): (Action.PICK, Action.REJECT),
    ("pickup", Status.PICKED): (Action.PACK, Action.READY_FOR_PICKUP),
    ("pickup", Status.PACKED): (Action.READY_FOR_PICKUP,),
    ("pickup", Status.READY_FOR_PICKUP): (Action.COLLECT,),
}
# Where nothing more will happen to the units.
FINAL = frozenset({Status.REJECTED, Status.COLLECTED, Status.DELIVERED, Status.CANCELLED})
# Units not yet out of the building: a cancellation may still stop them.
STOPPABLE = (Status.CREATED, Status.ACCEPTED, Status.PICKED, Status.PACKED, Status.READY_FOR_PICKUP)
# Not yet picked: an address change may still send them from elsewhere.
UNPICKED = (Status.CREATED, Status.ACCEPTED)


@dataclass
class FulfillmentLine:
    line_id: str
    sku: str
    quantity: int  # units this location still owes (after short picks and cancellations)
    reservation_id: str
    cancelled: int = 0
    short: int = 0


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    carrier: str
    service: str | None
    tracking_number: str
    tracking_url: str | None
    shipped_at: datetime


@dataclass
class Fulfillment:
    id: UUID
    order_id: UUID
    location_code: str
    method: str  # ship | pickup
    status: Status
    lines: list[FulfillmentLine]
    created_at: datetime
    updated_at: datetime
    reason: str | None = None
    shipment: Shipment | None = None
    history: list[dict[str, str]] = field(default_factory=list)
    version: int = 1
    distance_km: float | None = None  # to the customer, for the carrier selector
    domestic: bool = True

    @property
    def allowed(self) -> tuple[Action, ...]:
        return _NEXT.get((self.method, self.status), ())

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def check(self, action: Action) -> bool:
        """True when the action should take effect now; False when it already did (a
        harmless repeat). Anything else is refused with the allowed actions."""
        if action in self.allowed:
            return True
        if self.status is RESULT[action]:
            return False
        raise ActionNotAllowed(
            f"cannot {action.value} a fulfilment that is {self.status.value}",
            allowed=[a.value for a in self.allowed],
        )

    def move(self, action: Action, now: datetime, note: str = "") -> None:
        self.status = RESULT[action]
        self.updated_at = now
        self.version += 1
        self.history.append({"status": self.status.value, "at": now.isoformat(), "note": note})

    def pick(self, picked: dict[str, int], now: datetime) -> list[FulfillmentLine]:
        """Record what was found; returns the short part of each line (to re-route)."""
        shorts: list[FulfillmentLine] = []
        for line in self.lines:
            found = min(picked.get(line.line_id, line.quantity), line.quantity)
            missing = line.quantity - found
            if missing:
                line.short += missing
                line.quantity = found
                shorts.append(FulfillmentLine(line.line_id, line.sku, missing, line.reservation_id))
        note = f"{sum(s.quantity for s in shorts)} units short" if shorts else "picked in full"
        self.move(Action.PICK, now, note)
        return shorts

    def reject(self, reason: str, now: datetime) -> list[FulfillmentLine]:
        """The location cannot serve it: every unit goes back, to be routed elsewhere."""
        units = [
            FulfillmentLine(ln.line_id, ln.sku, ln.quantity, ln.reservation_id)
            for ln in self.lines
            if ln.quantity
        ]
        self.reason = reason
        self.move(Action.REJECT, now, reason)
        return units

    def withdraw(self, wanted: dict[str, int], now: datetime, reason: str) -> list[FulfillmentLine]:
        """Take up to the wanted units per line off this order (cancelled or re-planned);
        `wanted` is decremented by what was taken. With nothing left, the order is cancelled."""
        taken: list[FulfillmentLine] = []
        for line in self.lines:
            n = min(wanted.get(line.line_id, 0), line.quantity)
            if n:
                line.quantity -= n
                line.cancelled += n
                wanted[line.line_id] -= n
                taken.append(FulfillmentLine(line.line_id, line.sku, n, line.reservation_id))
        if taken:
            self.updated_at = now
            self.version += 1
            if self.units == 0:
                self.status = Status.CANCELLED
                self.reason = reason
                self.history.append(
                    {"status": self.status.value, "at": now.isoformat(), "note": reason}
                )
        return taken
