"""Scores for the eligible sites: each component normalised against the other sites scored
with it, weighted by the strategy, and summed; plus the ranking that breaks every tie."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.routing.filters import lines_in_full, needed
from services.orchestration.domain.routing.geo import great_circle_km
from services.orchestration.domain.routing.model import (
    Method,
    Quote,
    RoutingRequest,
    ScoreComponent,
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
    sites: Sequence[Site], request: RoutingRequest, strategy: Strategy, rates: RateTable
) -> dict[str, tuple[ScoreComponent, ...]]:
    """Each site's components, normalised against the other sites scored with it."""
    legs = {s.code: shipping_leg(s, request, rates) for s in sites}
    distance = _distance_scorer([leg.km for leg in legs.values() if leg.km is not None])
    cost = _cost_scorer([leg.quote.price for leg in legs.values() if leg.quote is not None])
    weights = strategy.weights
    demand = needed(request.lines)
    scored: dict[str, tuple[ScoreComponent, ...]] = {}
    for site in sites:
        leg = legs[site.code]
        # Every line served in full is the same as covering the summed demand per SKU.
        uncovered = len(request.lines) - lines_in_full(request.lines, site.available)
        covers = uncovered == 0
        depth, depth_score = _stock_depth(site, demand)
        if request.method is Method.PICKUP:
            price, price_score = 0.0, 1.0  # the customer collects: nothing to ship
        elif leg.quote is None:
            price, price_score = UNKNOWN_VALUE, NEUTRAL_SCORE
        else:
            price, price_score = float(leg.quote.price), cost(leg.quote.price)
        scored[site.code] = (
            _component(
                "distance",
                UNKNOWN_VALUE if leg.km is None else leg.km,
                NEUTRAL_SCORE if leg.km is None else distance(leg.km),
                weights.distance,
            ),
            _component("shipping_cost", price, price_score, weights.shipping_cost),
            _component(
                "priority",
                site.priority,
                min(1.0, max(0.0, site.priority / MAX_PRIORITY)),
                weights.priority,
            ),
            # Parts if this site ships what it has in full and every other line goes
            # elsewhere: 1 when it covers the order alone, which is what the score rewards.
            _component("parts", 1 + uncovered, 1.0 if covers else 0.0, weights.parts),
            _component("stock_depth", depth, depth_score, weights.stock_depth),
        )
    return scored


def _component(name: str, value: float, score: float, weight: float) -> ScoreComponent:
    score = round(score, 4)
    return ScoreComponent(name, round(float(value), 4), score, weight, score * weight)


def total_score(components: Iterable[ScoreComponent]) -> float:
    return round(sum(c.contribution for c in components), 4)


def _distance_scorer(kms: Sequence[float]) -> Callable[[float], float]:
    """1 - km / farthest: the nearest scores highest, the farthest 0."""
    farthest = max(kms, default=0.0)
    if len(kms) <= 1 or farthest == min(kms):
        return lambda _: 1.0
    return lambda km: 1.0 - km / farthest


def _cost_scorer(prices: Sequence[Decimal]) -> Callable[[Decimal], float]:
    """Min-max: the cheapest scores 1, the dearest 0."""
    if not prices or min(prices) == max(prices):
        return lambda _: 1.0
    low, high = min(prices), max(prices)
    return lambda price: float((high - price) / (high - low))


def _stock_depth(site: Site, demand: Mapping[str, int]) -> tuple[float, float]:
    """(units left after the pick, score) for the weakest requested SKU the site stocks.

    Per SKU the score is left / (left + demanded): 0 when the pick empties the shelf (the
    next order finds nothing, and a miscount means a short pick), 0.5 when as much is left
    as the order takes, towards 1 as stock deepens. The weakest SKU sets the score.
    """
    figures = [
        (available - min(available, demanded), demanded)
        for sku, demanded in demand.items()
        if (available := site.available.get(sku, 0)) > 0
    ]
    if not figures:
        return 0.0, 0.0
    left = min(units for units, _ in figures)
    score = min(units / (units + demanded) for units, demanded in figures)
    return float(left), score


def rank(sites: Iterable[Site], totals: Mapping[str, float]) -> list[Site]:
    """Best first: highest total, then higher priority, then code alphabetically."""
    return sorted(sites, key=lambda s: (-totals[s.code], -s.priority, s.code))
