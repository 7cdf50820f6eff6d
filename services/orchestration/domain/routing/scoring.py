"""Scores for the eligible sites: each component normalised against the other sites scored
with it, weighted by the strategy, and summed; plus the ranking that breaks every tie."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.routing.filters import lines_in_full, needed
from services.orchestration.domain.routing.geo import great_circle_km, km_to
from services.orchestration.domain.routing.model import (
    Method,
    Quote,
    RoutingRequest,
    Scored,
    Site,
    Strategy,
)

# Priorities run 0..1000 (see Site.priority).
MAX_PRIORITY = 1000
# Score given when a figure is unknown (no coordinates, no rate): neither helps nor hurts.
NEUTRAL_SCORE = 0.5
UNKNOWN_VALUE = -1.0


@dataclass(frozen=True)
class Leg:
    """The shipment from a site to the customer, as far as it is known."""

    km: float | None
    quote: Quote | None


def shipping_leg(site: Site, request: RoutingRequest, rates: RateTable) -> Leg:
    km = (
        great_circle_km(site.point, request.ship_to_point)
        if site.point is not None and request.ship_to_point is not None
        else None
    )
    if request.method is Method.PICKUP:
        return Leg(km, None)
    quote = rates.cheapest(
        distance_km=km,
        domestic=site.country == request.ship_to_country,
        level=request.service_level,
    )
    return Leg(km, quote)


def score_sites(
    sites: Sequence[Site],
    request: RoutingRequest,
    strategy: Strategy,
    rates: RateTable,
    served: Mapping[str, int] | None = None,
) -> dict[str, Scored]:
    """Each site's figures, normalised against the other sites scored with it. `served`,
    the lines each site serves in full, may be passed in by a caller that counted them.

    Written as one plain loop over floats: routing scores every candidate of every order,
    and objects per component and site were most of its cost."""
    point = request.ship_to_point
    pickup = request.method is Method.PICKUP
    km_from = km_to(point) if point is not None else None
    kms = [km_from(s.point) if s.point is not None and km_from is not None else None for s in sites]
    if pickup:
        prices: list[int | None] = [None] * len(sites)  # in cents
    else:
        cents = rates.cents_for(request.service_level)
        country = request.ship_to_country
        prices = [cents(km, s.country == country) for s, km in zip(sites, kms, strict=True)]
    distance = _distance_scorer([km for km in kms if km is not None])
    cost = _cost_scorer([p for p in prices if p is not None])
    w = strategy.weights
    weights = (w.distance, w.shipping_cost, w.priority, w.parts, w.stock_depth)
    demand = needed(request.lines)
    count = len(request.lines)
    scored: dict[str, Scored] = {}
    for site, km, price in zip(sites, kms, prices, strict=True):
        in_full = (
            lines_in_full(request.lines, site.available) if served is None else served[site.code]
        )
        # Parts if this site ships what it has in full and every other line goes elsewhere:
        # 1 when it covers the order alone, which is what the score rewards.
        uncovered = count - in_full
        depth, depth_score = _stock_depth(site.available, demand)
        if pickup:
            price_value, price_score = 0.0, 1.0  # the customer collects: nothing to ship
        elif price is None:
            price_value, price_score = UNKNOWN_VALUE, NEUTRAL_SCORE
        else:
            price_value, price_score = price / 100, cost(price)
        values = (
            UNKNOWN_VALUE if km is None else round(km, 4),
            price_value,  # whole cents, or -1: rounding to 4 places changes nothing
            float(site.priority),
            float(1 + uncovered),
            depth,
        )
        scores = (
            NEUTRAL_SCORE if km is None else round(distance(km), 4),
            round(price_score, 4),
            _priority_score(site.priority),
            1.0 if uncovered == 0 else 0.0,
            round(depth_score, 4),
        )
        # The contributions added in component order, as a report's components add up.
        total = round(
            scores[0] * weights[0]
            + scores[1] * weights[1]
            + scores[2] * weights[2]
            + scores[3] * weights[3]
            + scores[4] * weights[4],
            4,
        )
        scored[site.code] = Scored.of(values, scores, weights, total)
    return scored


@cache
def _priority_score(priority: int) -> float:
    return round(min(1.0, max(0.0, priority / MAX_PRIORITY)), 4)


def _distance_scorer(kms: Sequence[float]) -> Callable[[float], float]:
    """1 - km / farthest: the nearest scores highest, the farthest 0."""
    farthest = max(kms, default=0.0)
    if len(kms) <= 1 or farthest == min(kms):
        return lambda _: 1.0
    return lambda km: 1.0 - km / farthest


def _cost_scorer(cents: Sequence[int]) -> Callable[[int], float]:
    """Min-max: the cheapest scores 1, the dearest 0."""
    if not cents or min(cents) == max(cents):
        return lambda _: 1.0
    low, high = min(cents), max(cents)
    return lambda price: (high - price) / (high - low)


def _stock_depth(available: Mapping[str, int], demand: Mapping[str, int]) -> tuple[float, float]:
    """(units left after the pick, score) for the weakest requested SKU the site stocks.

    Per SKU the score is left / (left + demanded): 0 when the pick empties the shelf (the
    next order finds nothing, and a miscount means a short pick), 0.5 when as much is left
    as the order takes, towards 1 as stock deepens. The weakest SKU sets the score.
    """
    left: int | None = None
    score = 1.0
    for sku, demanded in demand.items():
        units = available.get(sku, 0)
        if units > 0:
            units = units - demanded if units > demanded else 0
            if left is None or units < left:
                left = units
            if (share := units / (units + demanded)) < score:
                score = share
    if left is None:
        return 0.0, 0.0
    return float(left), score


def rank(sites: Iterable[Site], totals: Mapping[str, float]) -> list[Site]:
    """Best first: highest total, then higher priority, then code alphabetically."""
    return sorted(sites, key=lambda s: (-totals[s.code], -s.priority, s.code))
