"""Deciding a reservation: which location serves each line, what is held now, what is
promised from incoming stock, or which lines are short. Pure; the caller has locked the stock
rows it passes in, so the decision still holds when it is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.inventory.domain.stock import StockLevel

Key = tuple[str, str]  # (location_code, sku)


@dataclass(frozen=True)
class Request:
    sku: str
    quantity: int
    location_code: str | None = None
    order_line_id: str | None = None


@dataclass(frozen=True)
class Incoming:
    expected_at: datetime
    quantity: int  # still expected (ordered minus received minus cancelled)


@dataclass(frozen=True)
class PlannedLine:
    request: Request
    location_code: str
    held: int
    backordered: int
    expected_at: datetime | None


@dataclass(frozen=True)
class Shortfall:
    request: Request
    available: int
    location_code: str | None


@dataclass(frozen=True)
class Plan:
    lines: list[PlannedLine]
    shortfalls: list[Shortfall]

    @property
    def complete(self) -> bool:
        return not self.shortfalls


@dataclass
class Network:
    """What a plan may draw on: the locked stock rows and the incoming stock not yet promised."""

    levels: Mapping[Key, StockLevel]
    # sku -> locations that may serve a line naming no location, most preferred first.
    eligible: Mapping[str, Sequence[str]] = field(default_factory=dict)
    incoming: Mapping[Key, Sequence[Incoming]] = field(default_factory=dict)
    # Units already backordered at a location: they have first claim on its incoming stock.
    waiting: Mapping[Key, int] = field(default_factory=dict)


def promise_date(
    incoming: Sequence[Incoming], *, already_promised: int, quantity: int
) -> datetime | None:
    """When `quantity` more units can be served from incoming stock, after those already
    promised (first come, first served); None if the incoming stock does not cover them."""
    needed = already_promised + quantity
    covered = 0
    for delivery in sorted(incoming, key=lambda d: d.expected_at):
        covered += delivery.quantity
        if covered >= needed:
            return delivery.expected_at
    return None


class _Ledger:
    """Units this plan has already taken per stock row, so two lines never take one unit."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.held: dict[Key, int] = {}
        self.backordered: dict[Key, int] = {}

    def free(self, key: Key) -> int:
        level = self.network.levels.get(key)
        return (level.available if level else 0) - self.held.get(key, 0)

    def promised(self, key: Key) -> int:
        return self.network.waiting.get(key, 0) + self.backordered.get(key, 0)

    def incoming_left(self, key: Key) -> int:
        total = sum(d.quantity for d in self.network.incoming.get(key, ()))
        return max(total - self.promised(key), 0)

    def take(self, line: PlannedLine) -> PlannedLine:
        key = (line.location_code, line.request.sku)
        self.held[key] = self.held.get(key, 0) + line.held
        self.backordered[key] = self.backordered.get(key, 0) + line.backordered
        return line


def plan(requests: Sequence[Request], network: Network, *, allow_backorder: bool) -> Plan:
    """Every line from one location, all lines or none.

    A line naming no location goes to the eligible location with the most available units
    (ties: the more preferred), whole, so its shipment is not split. With backorder allowed,
    a line takes what is on hand and the rest from incoming stock at the same location.
    """
    ledger = _Ledger(network)
    lines: list[PlannedLine] = []
    shortfalls: list[Shortfall] = []
    for request in requests:
        candidates = (
            [request.location_code]
            if request.location_code is not None
            else list(network.eligible.get(request.sku, ()))
        )
        chosen = _from_stock(request, candidates, ledger)
        if chosen is None and allow_backorder:
            chosen = _with_backorder(request, candidates, ledger)
        if chosen is not None:
            lines.append(ledger.take(chosen))
            continue
        shortfalls.append(_shortfall(request, candidates, ledger, allow_backorder))
    return Plan(lines=[] if shortfalls else lines, shortfalls=shortfalls)


def held_where_named(requests: Sequence[Request]) -> Plan:
    """Every line held in full at the location it names: the plan a reservation takes when
    the stock rows say yes (their conditional update is the check), without reading them
    first. Only for requests whose every line names a location."""
    lines = []
    for request in requests:
        if request.location_code is None:
            raise ValueError(f"line of {request.sku} names no location")
        lines.append(PlannedLine(request, request.location_code, request.quantity, 0, None))
    return Plan(lines=lines, shortfalls=[])


def _from_stock(request: Request, candidates: list[str], ledger: _Ledger) -> PlannedLine | None:
    ranked = sorted(
        enumerate(candidates), key=lambda ic: (-ledger.free((ic[1], request.sku)), ic[0])
    )
    for _, code in ranked[:1]:
        if ledger.free((code, request.sku)) >= request.quantity:
            return PlannedLine(request, code, request.quantity, 0, None)
    return None


def _with_backorder(request: Request, candidates: list[str], ledger: _Ledger) -> PlannedLine | None:
    """The location that can promise the whole line soonest, holding what it has now."""
    best: PlannedLine | None = None
    for code in candidates:
        key = (code, request.sku)
        held = max(min(ledger.free(key), request.quantity), 0)
        rest = request.quantity - held
        date = promise_date(
            ledger.network.incoming.get(key, ()),
            already_promised=ledger.promised(key),
            quantity=rest,
        )
        if date is None:
            continue
        option = PlannedLine(request, code, held, rest, date)
        if best is None or (date, -held) < (best.expected_at, -best.held):
            best = option
    return best


def _shortfall(
    request: Request, candidates: list[str], ledger: _Ledger, allow_backorder: bool
) -> Shortfall:
    def servable(code: str) -> int:
        key = (code, request.sku)
        extra = ledger.incoming_left(key) if allow_backorder else 0
        return max(ledger.free(key), 0) + extra

    if not candidates:
        return Shortfall(request, 0, request.location_code)
    best = max(candidates, key=servable)
    return Shortfall(request, servable(best), best)
