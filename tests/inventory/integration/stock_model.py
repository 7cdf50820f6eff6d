"""A plain-Python model of inventory's rules, written apart from the service's code, for the
state-machine test to compare the database against after every step.

It knows: counters per (location, SKU) with safety stock; all-or-nothing plans (most available
location for a line naming none, backorders promised from incoming stock after earlier
promises); buckets per reservation line; first come, first served backorders (priority, order
time, reservation time); inbound deliveries; release, commit, confirm and expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

Key = tuple[str, str]  # (location code, SKU)
Pick = tuple[str, int, str | None]  # (SKU, units, location code or None)
Units = Callable[[Key], int]


@dataclass
class Row:
    on_hand: int = 0
    reserved: int = 0
    safety: int = 0

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved - self.safety, 0)


@dataclass
class Line:
    no: int
    sku: str
    loc: str | None
    quantity: int
    held: int = 0
    backordered: int = 0
    committed: int = 0
    released: int = 0
    expected_at: datetime | None = None
    available_at_request: int | None = None

    @property
    def open(self) -> int:
        return self.held + self.backordered


@dataclass
class Res:
    id: UUID
    lines: list[Line]
    priority: int
    ordered_at: datetime
    created_at: datetime
    expires_at: datetime | None
    rejected: bool
    expired: bool = False

    @property
    def status(self) -> str:
        if self.rejected:
            return "rejected"
        if any(ln.open for ln in self.lines):
            return "held" if self.expires_at else "confirmed"
        if self.expired:
            return "expired"
        return "committed" if any(ln.committed for ln in self.lines) else "released"


@dataclass
class Delivery:
    key: Key
    expected_at: datetime
    remaining: int
    received: int = 0
    cancelled: int = 0

    @property
    def status(self) -> str:
        if self.remaining:
            return "open"
        return "cancelled" if self.cancelled else "received"


@dataclass
class Model:
    locations: list[str]  # every one active and shipping, in code order
    rows: dict[Key, Row] = field(default_factory=dict)
    reservations: dict[UUID, Res] = field(default_factory=dict)
    deliveries: dict[UUID, Delivery] = field(default_factory=dict)

    # --- reserving ------------------------------------------------------------------------

    def plan(self, requests: list[Pick], *, backorder: bool) -> tuple[list[Line], bool]:
        """The lines a reservation gets, and whether it is rejected."""
        held: dict[Key, int] = {}
        promised: dict[Key, int] = {}
        lines: list[Line] = []
        short = False

        def free(key: Key) -> int:
            return self.rows[key].available - held.get(key, 0)

        def waiting(key: Key) -> int:
            return self.waiting(key) + promised.get(key, 0)

        for no, (sku, qty, loc) in enumerate(requests, start=1):
            candidates = [loc] if loc else self.locations
            best = max(candidates, key=lambda c: free((c, sku)))
            line = Line(no, sku, loc, qty)
            if free((best, sku)) >= qty:
                line.loc, line.held = best, qty
            elif backorder and (option := self._soonest(candidates, sku, qty, free, waiting)):
                line.loc, line.held, line.expected_at = option
                line.backordered = qty - line.held
            else:
                short = True
                line.loc, line.available_at_request = self._most_servable(
                    candidates, sku, free, waiting if backorder else None
                )
            if line.open:
                key = (line.loc, sku)
                held[key] = held.get(key, 0) + line.held
                promised[key] = promised.get(key, 0) + line.backordered
            lines.append(line)
        if short:
            for line, (_, _, loc) in zip(lines, requests, strict=True):
                if line.available_at_request is None:
                    line.loc, line.held, line.backordered, line.expected_at = loc, 0, 0, None
        return lines, short

    def _soonest(
        self, candidates: list[str], sku: str, qty: int, free: Units, waiting: Units
    ) -> tuple[str, int, datetime] | None:
        """The location promising the whole line soonest (ties: the one holding more)."""
        best: tuple[datetime, int, str] | None = None
        for code in candidates:
            key = (code, sku)
            held = max(min(free(key), qty), 0)
            date = self.promise(key, waiting(key) + qty - held)
            if date is not None and (best is None or (date, -held) < (best[0], -best[1])):
                best = (date, held, code)
        return None if best is None else (best[2], best[1], best[0])

    def _most_servable(
        self, candidates: list[str], sku: str, free: Units, waiting: Units | None
    ) -> tuple[str, int]:
        """A short line's best location and what it could have had there."""

        def servable(code: str) -> int:
            key = (code, sku)
            unpromised = max(self.incoming(key) - waiting(key), 0) if waiting else 0
            return max(free(key), 0) + unpromised

        best = max(candidates, key=servable)
        return best, servable(best)

    def incoming(self, key: Key) -> int:
        return sum(d.remaining for d in self.deliveries.values() if d.key == key)

    def promise(self, key: Key, units: int) -> datetime | None:
        covered = 0
        for d in sorted(
            (d for d in self.deliveries.values() if d.key == key and d.remaining),
            key=lambda d: d.expected_at,
        ):
            covered += d.remaining
            if covered >= units:
                return d.expected_at
        return None

    def waiting(self, key: Key) -> int:
        return sum(
            ln.backordered
            for r in self.reservations.values()
            for ln in r.lines
            if (ln.loc, ln.sku) == key
        )

    def add(self, res: Res) -> None:
        self.reservations[res.id] = res
        touched = set()
        for line in res.lines:
            if line.held:
                assert line.loc is not None
                self.rows[(line.loc, line.sku)].reserved += line.held
                touched.add((line.loc, line.sku))
        self.serve(touched)

    # --- backorders -----------------------------------------------------------------------

    def queue(self, key: Key) -> list[Line]:
        """The lines waiting at a row, front first: priority, order time, reservation time."""
        waiting = sorted(
            (
                (-r.priority, r.ordered_at, r.created_at, str(r.id), ln.no, ln)
                for r in self.reservations.values()
                for ln in r.lines
                if ln.backordered and (ln.loc, ln.sku) == key
            ),
            key=lambda entry: entry[:5],
        )
        return [line for *_, line in waiting]

    def serve(self, keys: set[Key]) -> None:
        """Available units of each changed row go to its waiting lines, front of queue first."""
        for key in sorted(keys):
            row = self.rows[key]
            for line in self.queue(key):
                step = min(line.backordered, row.available)
                if step <= 0:
                    break
                line.backordered -= step
                line.held += step
                row.reserved += step

    # --- changing reservations ------------------------------------------------------------

    def _take(
        self, res: Res, picks: list[Pick] | None, buckets: tuple[str, ...]
    ) -> tuple[dict[tuple[int, str], int], bool]:
        """Units to take per (line number, bucket): every unit of the buckets without picks;
        else each pick bucket by bucket, lines in order within a bucket. Also whether some
        named units were not there."""
        live = [ln for ln in res.lines if not res.rejected]
        if picks is None:
            return {(ln.no, b): getattr(ln, b) for ln in live for b in buckets}, False
        taken: dict[tuple[int, str], int] = {}
        short = False
        for sku, qty, loc in picks:
            for bucket in buckets:
                for ln in live:
                    if ln.sku == sku and loc in (None, ln.loc):
                        step = min(getattr(ln, bucket) - taken.get((ln.no, bucket), 0), qty)
                        taken[(ln.no, bucket)] = taken.get((ln.no, bucket), 0) + step
                        qty -= step
            short = short or qty > 0
        return taken, short

    def release(self, res: Res, picks: list[Pick] | None, *, expiry: bool = False) -> None:
        """Backordered units first (across the lines a pick names), then held; clamped."""
        taken, _ = self._take(res, picks, ("backordered", "held"))
        touched = set()
        changed = False
        for line in res.lines:
            from_backorder = taken.get((line.no, "backordered"), 0)
            from_held = taken.get((line.no, "held"), 0)
            line.backordered -= from_backorder
            line.held -= from_held
            line.released += from_backorder + from_held
            changed = changed or from_backorder + from_held > 0
            if from_held:
                assert line.loc is not None
                self.rows[(line.loc, line.sku)].reserved -= from_held
                touched.add((line.loc, line.sku))
        if changed:
            res.expired = expiry
        self.serve(touched)

    def commit(self, res: Res, picks: list[Pick] | None) -> str | None:
        """None when done; else the error code, with nothing changed."""
        if res.status in ("rejected", "released"):
            return "reservation_closed"
        taken, short = self._take(res, picks, ("held",))
        if short:
            return "commit_exceeds_held"
        touched = set()
        for line in res.lines:
            step = taken.get((line.no, "held"), 0)
            if step:
                line.held -= step
                line.committed += step
                assert line.loc is not None
                row = self.rows[(line.loc, line.sku)]
                row.on_hand -= step
                row.reserved -= step
                touched.add((line.loc, line.sku))
        self.serve(touched)
        return None

    def confirm(self, res: Res) -> str | None:
        if res.status == "held":
            res.expires_at = None
        elif res.status != "confirmed":
            return "reservation_not_temporary"
        return None

    def expire(self, now: datetime) -> None:
        due = [
            r
            for r in self.reservations.values()
            if r.status == "held" and r.expires_at is not None and r.expires_at <= now
        ]
        for res in sorted(due, key=lambda r: (r.expires_at, str(r.id))):
            self.release(res, None, expiry=True)

    # --- stock ----------------------------------------------------------------------------

    def change_on_hand(self, key: Key, delta: int, *, safety: int | None = None) -> str | None:
        row = self.rows[key]
        if row.on_hand + delta < 0:
            return "not_enough_on_hand"
        if row.on_hand + delta < row.reserved:
            return "on_hand_below_reserved"
        row.on_hand += delta
        touched = delta != 0
        if safety is not None and safety != row.safety:
            row.safety, touched = safety, True
        self.serve({key} if touched else set())
        return None

    def receive(self, inbound_id: UUID, quantity: int | None) -> str | None:
        delivery = self.deliveries[inbound_id]
        if delivery.status != "open":
            return "inbound_closed"
        arrived = delivery.remaining if quantity is None else quantity
        if arrived > delivery.remaining:
            return "receive_exceeds_expected"
        delivery.remaining -= arrived
        delivery.received += arrived
        self.rows[delivery.key].on_hand += arrived
        self.serve({delivery.key})
        return None

    def cancel(self, inbound_id: UUID) -> str | None:
        delivery = self.deliveries[inbound_id]
        if delivery.status == "received":
            return "inbound_closed"
        delivery.cancelled += delivery.remaining
        delivery.remaining = 0
        self.repromise(delivery.key)
        return None

    def reschedule(self, inbound_id: UUID, expected_at: datetime) -> str | None:
        delivery = self.deliveries[inbound_id]
        if delivery.status != "open":
            return "inbound_closed"
        if expected_at != delivery.expected_at:
            delivery.expected_at = expected_at
            self.repromise(delivery.key)
        return None

    def repromise(self, key: Key) -> None:
        """The queue at a row promised again, front first, from the deliveries still open:
        each line is expected with the delivery that completes it; what none covers is
        released."""
        open_ = sorted(
            (d for d in self.deliveries.values() if d.key == key and d.remaining),
            key=lambda d: d.expected_at,
        )
        dates = [d.expected_at for d in open_]
        units = [d.remaining for d in open_]
        for line in self.queue(key):
            need, date = line.backordered, None
            while need and units:
                step = min(need, units[0])
                need -= step
                units[0] -= step
                date = dates[0]
                if units[0] == 0:
                    units.pop(0)
                    dates.pop(0)
            if need or date != line.expected_at:
                line.backordered -= need
                line.released += need
                line.expected_at = date if line.backordered else None
