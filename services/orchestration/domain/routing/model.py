"""What the routing engine decides on, and the decision it gives back.

Pure values: the engine reads them and never does I/O, so every decision can be replayed and
explained from what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

_T = TypeVar("_T")


def _unchecked(cls: type[_T], fields: dict[str, object]) -> _T:
    """An instance of a frozen dataclass with these fields (every one of them), made without
    its __init__, which sets each field through object.__setattr__. Routing makes a site, a
    score and a report for every candidate of every order, about a hundred of each, and the
    __init__ calls were a visible share of its cost. The caller passes the fields __init__
    would set; nothing here checks them, hence the name."""
    made = object.__new__(cls)
    made.__dict__.update(fields)
    return made


class Method(StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"


class NoRoutePolicy(StrEnum):
    """What happens when no plan within the strategy can serve the order from stock now."""

    BACKORDER = "backorder"
    REJECT = "reject"


class Outcome(StrEnum):
    ROUTED = "routed"
    BACKORDERED = "backordered"
    UNROUTABLE = "unroutable"


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True)
class Site:
    """A location as routing sees it: inventory's master data plus its stock of the order's
    SKUs and the fulfilment orders orchestration already gave it today."""

    code: str
    type: str  # warehouse | store | dropship | 3pl
    active: bool
    capabilities: frozenset[str]  # ship | pickup | ship_from_store
    country: str
    point: GeoPoint | None
    priority: int = 0  # 0..1000, higher preferred
    daily_capacity: int | None = None  # fulfilment orders per day; None = unlimited
    used_today: int = 0
    processing_days: int = 0
    cutoff: time | None = None
    timezone: str = "UTC"
    available: Mapping[str, int] = field(default_factory=dict)  # sku -> units available now
    incoming: Mapping[str, int] = field(default_factory=dict)  # sku -> units still expected

    def stocked(self, available: Mapping[str, int], incoming: Mapping[str, int]) -> Site:
        """This site with this stock, as `dataclasses.replace` makes it. Routing makes one per
        candidate of every order (about a hundred), and the frozen __init__, each of its 14
        fields set through object.__setattr__, cost 3.8 µs a site where a copy of the fields
        costs 1."""
        return _unchecked(Site, {**self.__dict__, "available": available, "incoming": incoming})


@dataclass(frozen=True)
class Demand:
    line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class RoutingRequest:
    lines: tuple[Demand, ...]
    method: Method
    ship_to_country: str
    ship_to_point: GeoPoint | None = None
    pickup_location: str | None = None
    service_level: str = "standard"
    channel: str = ""
    # Locations that rejected or short-picked this order: never routed to again.
    excluded: frozenset[str] = frozenset()
    # The day the customer needs the order by ("deliver by"): locations that can deliver by
    # it are preferred (see engine.py). None: no date asked.
    requested_delivery_date: date | None = None


@dataclass(frozen=True)
class Weights:
    distance: float = 1.0
    shipping_cost: float = 1.0
    priority: float = 0.5
    parts: float = 2.0
    stock_depth: float = 0.25


@dataclass(frozen=True)
class Strategy:
    version: int
    weights: Weights = Weights()
    max_parts: int = 3
    # Location code -> destination countries it may ship to; a location not named ships anywhere.
    allowed_destinations: Mapping[str, frozenset[str]] = field(default_factory=dict)
    no_route_policy: NoRoutePolicy = NoRoutePolicy.REJECT
    channel_policies: Mapping[str, NoRoutePolicy] = field(default_factory=dict)

    def policy_for(self, channel: str) -> NoRoutePolicy:
        return self.channel_policies.get(channel, self.no_route_policy)


@dataclass(frozen=True)
class FilterVerdict:
    # active | capability | not_excluded | country | capacity | stock, and delivery_date with
    # a requested delivery date
    name: str
    passed: bool
    reason: str  # a few words a person reads, e.g. "no ship_from_store capability"


@dataclass(frozen=True)
class ScoreComponent:
    name: str  # distance | shipping_cost | priority | parts | stock_depth
    value: float  # the raw figure: km, price, priority, parts, units left after the pick
    score: float  # normalised to 0..1, higher is better
    weight: float
    contribution: float  # score * weight


# The score components, in the order every report lists them.
COMPONENTS = ("distance", "shipping_cost", "priority", "parts", "stock_depth")


@dataclass(frozen=True)
class Scored:
    """A site's figures, one per component in COMPONENTS order: the raw value, the score
    normalised to 0..1 and the strategy's weight, and the weighted total. Routing scores
    every candidate of every order but reads the components of two or three of them, so
    they are made from these figures when asked for, not for every candidate."""

    values: tuple[float, ...]
    scores: tuple[float, ...]
    weights: tuple[float, ...]
    total: float

    @property
    def components(self) -> tuple[ScoreComponent, ...]:
        return tuple(
            ScoreComponent(name, value, score, weight, score * weight)
            for name, value, score, weight in zip(
                COMPONENTS, self.values, self.scores, self.weights, strict=True
            )
        )

    @classmethod
    def of(
        cls,
        values: tuple[float, ...],
        scores: tuple[float, ...],
        weights: tuple[float, ...],
        total: float,
    ) -> Scored:
        """Scored(values, scores, weights, total), made without the frozen __init__ (see
        _unchecked): one for every candidate of every order, 0.64 µs through __init__, 0.35
        this way."""
        return _unchecked(
            cls, {"values": values, "scores": scores, "weights": weights, "total": total}
        )


@dataclass(frozen=True)
class CandidateReport:
    location_code: str
    filters: tuple[FilterVerdict, ...]
    eligible: bool  # every filter passed
    covers_all: bool  # can serve every line in full on its own
    total: float | None = None  # None when not eligible
    scored: Scored | None = None  # None when not eligible

    @property
    def components(self) -> tuple[ScoreComponent, ...]:
        return () if self.scored is None else self.scored.components

    @classmethod
    def of(
        cls,
        location_code: str,
        filters: tuple[FilterVerdict, ...],
        eligible: bool,
        covers_all: bool,
        total: float | None,
        scored: Scored | None,
    ) -> CandidateReport:
        """The report, made without the frozen __init__ (see _unchecked): one for every
        candidate of every order, 1.23 µs through __init__, 0.39 this way."""
        return _unchecked(
            cls,
            {
                "location_code": location_code,
                "filters": filters,
                "eligible": eligible,
                "covers_all": covers_all,
                "total": total,
                "scored": scored,
            },
        )


@dataclass(frozen=True)
class Allocation:
    line_id: str
    sku: str
    quantity: int
    backorder: bool = False  # promised from incoming stock, not held from stock on hand


@dataclass(frozen=True)
class Quote:
    carrier: str
    service: str
    level: str
    price: Decimal
    currency: str
    transit_days: int


@dataclass(frozen=True)
class Part:
    """One location's share of the order: becomes one fulfilment order."""

    location_code: str
    allocations: tuple[Allocation, ...]
    quote: Quote | None = None  # None for pickup


@dataclass(frozen=True)
class RoutingDecision:
    outcome: Outcome
    strategy_version: int
    candidates: tuple[CandidateReport, ...]
    parts: tuple[Part, ...]
    explanation: str  # one sentence a person can read
    reason: str | None = None  # for UNROUTABLE: why nothing could serve
    # With a requested delivery date: True when every part is expected by it, False when the
    # plan (or the lack of one) misses it; None when no date was requested.
    meets_requested_date: bool | None = None
