"""A reservation: units held (or, backordered, promised from incoming stock) for one order.

Each line keeps buckets that always add up: quantity = held + backordered + committed +
released (a rejected reservation holds nothing and keeps its lines only as the record of what
was short). The status is derived from the buckets, so it cannot disagree with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.inventory.domain.allocation import Plan, Request
from services.inventory.domain.errors import (
    CommitExceedsHeld,
    ReservationClosed,
    ReservationNotTemporary,
)


class ReservationStatus(StrEnum):
    HELD = "held"  # a temporary hold: released at expires_at unless confirmed
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    RELEASED = "released"
    EXPIRED = "expired"
    COMMITTED = "committed"  # nothing open; at least one unit shipped


class ReleaseReason(StrEnum):
    CANCELLED = "cancelled"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass
class ReservationLine:
    line_no: int
    sku: str
    location_code: str | None
    quantity: int
    held: int = 0
    backordered: int = 0
    committed: int = 0
    released: int = 0
    expected_at: datetime | None = None
    order_line_id: str | None = None
    available_at_request: int | None = None

    @property
    def open(self) -> int:
        return self.held + self.backordered

    @property
    def key(self) -> tuple[str, str]:
        assert self.location_code is not None, "a rejected line has no stock row"
        return (self.location_code, self.sku)


@dataclass(frozen=True)
class LinePick:
    """A quantity of one SKU named by a release or commit; location narrows it if given."""

    sku: str
    quantity: int
    location_code: str | None = None


@dataclass(frozen=True)
class LineChange:
    """What one operation did to one line: units leaving held and leaving backordered."""

    line_no: int
    sku: str
    location_code: str
    held: int = 0
    backordered: int = 0


@dataclass
class Reservation:
    id: UUID
    order_id: UUID
    lines: list[ReservationLine]
    allow_backorder: bool
    ordered_at: datetime
    created_at: datetime
    priority: int = 0
    expires_at: datetime | None = None
    rejected: bool = False
    reason: str | None = None
    version: int = 1
    expired: bool = field(default=False)

    @property
    def status(self) -> ReservationStatus:
        if self.rejected:
            return ReservationStatus.REJECTED
        if any(line.open for line in self.lines):
            return ReservationStatus.HELD if self.expires_at else ReservationStatus.CONFIRMED
        if self.expired:
            return ReservationStatus.EXPIRED
        if any(line.committed for line in self.lines):
            return ReservationStatus.COMMITTED
        return ReservationStatus.RELEASED

    @property
    def open_units(self) -> int:
        return sum(line.open for line in self.lines)

    @property
    def backordered_units(self) -> int:
        return sum(line.backordered for line in self.lines)

    @property
    def stock_keys(self) -> list[tuple[str, str]]:
        """The stock rows this reservation touches, in the one global lock order."""
        return sorted({line.key for line in self.lines if line.location_code is not None})

    @property
    def holds(self) -> dict[tuple[str, str], int]:
        """Held units per stock row, in the one global lock order."""
        held: dict[tuple[str, str], int] = {}
        for line in self.lines:
            if line.held:
                held[line.key] = held.get(line.key, 0) + line.held
        return dict(sorted(held.items()))

    def confirm(self) -> bool:
        """Make a temporary hold firm: it no longer expires."""
        if self.status is ReservationStatus.CONFIRMED:
            return False
        if self.status is not ReservationStatus.HELD:
            raise ReservationNotTemporary(
                f"reservation {self.id} is {self.status.value}, not a temporary hold"
            )
        self.expires_at = None
        self.version += 1
        return True

    def release(
        self, picks: Sequence[LinePick] | None, *, reason: ReleaseReason
    ) -> list[LineChange]:
        """Give open units back: backordered ones first (they are not stock yet), then held.

        Clamped to what is open, so a repeated or late release changes nothing more.
        """
        taken, _ = self._spread(picks, ("backordered", "held"))
        changes: list[LineChange] = []
        for line in self._live():
            from_backorder = taken.get((line.line_no, "backordered"), 0)
            from_held = taken.get((line.line_no, "held"), 0)
            if from_backorder + from_held == 0:
                continue
            line.backordered -= from_backorder
            line.held -= from_held
            line.released += from_backorder + from_held
            changes.append(
                LineChange(line.line_no, line.sku, line.key[0], from_held, from_backorder)
            )
        if changes:
            self.expired = reason is ReleaseReason.EXPIRED
            self.version += 1
        return changes

    def expire(self, now: datetime) -> list[LineChange]:
        if self.status is not ReservationStatus.HELD or self.expires_at is None:
            return []
        if self.expires_at > now:
            return []
        return self.release(None, reason=ReleaseReason.EXPIRED)

    def commit(self, picks: Sequence[LinePick] | None) -> list[LineChange]:
        """Held units shipped. Naming more than is held is an error: stock that was never
        reserved for this order cannot leave under its name."""
        if self.status in (ReservationStatus.REJECTED, ReservationStatus.RELEASED):
            raise ReservationClosed(f"reservation {self.id} is {self.status.value}")
        taken, missing = self._spread(picks, ("held",))
        if missing:
            sku = sorted(missing)[0]
            named = sum(p.quantity for p in picks or () if p.sku == sku)
            held = sum(ln.held for ln in self._live() if ln.sku == sku)
            raise CommitExceedsHeld(f"{named} x {sku} named, {held} held", sku=sku, held=held)
        changes: list[LineChange] = []
        for line in self._live():
            step = taken.get((line.line_no, "held"), 0)
            if step == 0:
                continue
            line.held -= step
            line.committed += step
            changes.append(LineChange(line.line_no, line.sku, line.key[0], held=step))
        if changes:
            self.version += 1
        return changes

    def allocate_backorder(self, line_no: int, quantity: int) -> int:
        """Units arrived for a waiting line: they move from backordered to held."""
        line = next(ln for ln in self.lines if ln.line_no == line_no)
        step = min(line.backordered, quantity)
        line.backordered -= step
        line.held += step
        self.version += 1
        return step

    def repromise(self, line_no: int, expected_at: datetime | None, lapsed: int) -> LineChange:
        """The line's incoming stock changed: it is expected at a new date, and `lapsed` of
        its backordered units no delivery covers any more leave the queue (released)."""
        line = next(ln for ln in self.lines if ln.line_no == line_no)
        step = min(line.backordered, lapsed)
        line.backordered -= step
        line.released += step
        line.expected_at = expected_at if line.backordered else None
        self.version += 1
        return LineChange(line.line_no, line.sku, line.key[0], backordered=step)

    def _live(self) -> list[ReservationLine]:
        return [line for line in self.lines if not self.rejected and line.open]

    def _spread(
        self, picks: Sequence[LinePick] | None, buckets: tuple[str, ...]
    ) -> tuple[dict[tuple[int, str], int], dict[str, int]]:
        """Units to take per (line, bucket), bucket by bucket across every matching line, and
        how many named units of each SKU could not be found. No picks: all of the buckets."""
        live = self._live()
        if picks is None:
            picks = [
                LinePick(ln.sku, sum(getattr(ln, b) for b in buckets), ln.location_code)
                for ln in live
            ]
        taken: dict[tuple[int, str], int] = {}
        missing: dict[str, int] = {}
        for pick in picks:
            left = pick.quantity
            for bucket in buckets:
                for line in live:
                    if line.sku != pick.sku or pick.location_code not in (None, line.location_code):
                        continue
                    key = (line.line_no, bucket)
                    step = min(getattr(line, bucket) - taken.get(key, 0), left)
                    if step > 0:
                        taken[key] = taken.get(key, 0) + step
                        left -= step
            if left:
                missing[pick.sku] = missing.get(pick.sku, 0) + left
        return taken, missing


def from_plan(
    result: Plan,
    requests: Sequence[Request],
    *,
    id: UUID,
    order_id: UUID,
    allow_backorder: bool,
    priority: int,
    ordered_at: datetime | None,
    expires_at: datetime | None,
    now: datetime,
) -> Reservation:
    """The reservation a plan makes: holding every line, or rejected with what was short."""
    if result.complete:
        lines = [
            ReservationLine(
                line_no=no,
                sku=p.request.sku,
                location_code=p.location_code,
                quantity=p.request.quantity,
                held=p.held,
                backordered=p.backordered,
                expected_at=p.expected_at,
                order_line_id=p.request.order_line_id,
            )
            for no, p in enumerate(result.lines, start=1)
        ]
    else:
        short = {id_(s.request): s for s in result.shortfalls}
        lines = [
            ReservationLine(
                line_no=no,
                sku=r.sku,
                location_code=short[id_(r)].location_code if id_(r) in short else r.location_code,
                quantity=r.quantity,
                order_line_id=r.order_line_id,
                available_at_request=short[id_(r)].available if id_(r) in short else None,
            )
            for no, r in enumerate(requests, start=1)
        ]
    return Reservation(
        id=id,
        order_id=order_id,
        lines=lines,
        allow_backorder=allow_backorder,
        priority=priority,
        ordered_at=ordered_at or now,
        created_at=now,
        expires_at=expires_at if result.complete else None,
        rejected=not result.complete,
        reason=None if result.complete else "insufficient_stock",
    )


def id_(request: Request) -> int:
    """Requests are compared by identity: two equal lines in one request are two lines."""
    return id(request)
