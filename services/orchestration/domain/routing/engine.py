"""The routing engine: which locations serve an order, in how many parts, and why.

Pure and deterministic: the same request, sites, strategy and rates always give the same
decision (sites are sorted by code first, every tie has an explicit tie-break), so a stored
decision can be replayed and its explanation trusted.

The steps: every site goes through the hard filters; the eligible ones are scored; the plan is
one part at the best site that has every line, else the fewest parts that cover every line;
when nothing can, the channel's policy backorders at the best site or rejects the order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.routing.geo import great_circle_km
from services.orchestration.domain.routing.model import (
    Allocation,
    CandidateReport,
    Demand,
    FilterVerdict,
    Method,
    NoRoutePolicy,
    Outcome,
    Part,
    Quote,
    RoutingDecision,
    RoutingRequest,
    ScoreComponent,
    Site,
    Strategy,
)

# Splits are searched over this many of the best-scoring eligible sites: C(12, 3) = 220
# combinations at the default max_parts, and a split plan rarely needs a site ranked lower.
SPLIT_CANDIDATE_POOL = 12
# The explanation names at most this many sites besides the chosen ones, then "and N more".
EXPLAINED_SITES = 5
# Priorities run 0..1000 (see Site.priority).
MAX_PRIORITY = 1000
# Score given when a figure is unknown (no coordinates, no rate): neither helps nor hurts.
NEUTRAL_SCORE = 0.5
UNKNOWN_VALUE = -1.0

_NOT_THE_PICKUP_STORE = "not the chosen pickup store"
_EDGE_WORDS = {
    "distance": "nearest",
    "shipping_cost": "cheapest",
    "priority": "highest-priority",
    "stock_depth": "best-stocked",
}


def route(
    request: RoutingRequest, sites: Sequence[Site], strategy: Strategy, rates: RateTable
) -> RoutingDecision:
    if any(line.quantity < 1 for line in request.lines):
        raise ValueError("every line to route needs a quantity of at least 1")
    ordered = sorted(sites, key=lambda s: s.code)
    verdicts = {s.code: _filters(s, request, strategy) for s in ordered}
    eligible = [s for s in ordered if _passes(verdicts[s.code])]
    components = _score(eligible, request, strategy, rates)
    totals = {code: _total(parts) for code, parts in components.items()}
    reports = tuple(
        CandidateReport(
            location_code=s.code,
            filters=verdicts[s.code],
            eligible=s.code in totals,
            covers_all=_covers_all(request.lines, s.available),
            components=components.get(s.code, ()),
            total=totals.get(s.code),
        )
        for s in ordered
    )
    ranked = _ranked(eligible, totals)
    context = _Context(request, strategy, rates, reports, totals)

    if not request.lines:
        return context.unroutable("the order has no lines to route")
    single = next((s for s in ranked if _covers_all(request.lines, s.available)), None)
    if single is not None:
        return context.routed_single(single, ranked)
    if request.method is Method.SHIP:
        split = _fewest_parts(ranked, totals, request.lines, strategy.max_parts)
        if split is not None:
            return context.routed_split(split)
    return _nothing_can_serve(context, ordered, verdicts)


# --- hard filters -------------------------------------------------------------------------


def _filters(site: Site, request: RoutingRequest, strategy: Strategy) -> tuple[FilterVerdict, ...]:
    """Every filter for every site, so a report always shows the whole picture (a site can
    be both inactive and out of stock, and both are worth knowing)."""
    return (
        _active(site),
        _capability(site, request),
        _not_excluded(site, request),
        _country(site, request, strategy),
        _capacity(site),
        _stock(site, request.lines),
    )


def _passes(verdicts: Iterable[FilterVerdict], *, ignore: str | None = None) -> bool:
    return all(v.passed for v in verdicts if v.name != ignore)


def _active(site: Site) -> FilterVerdict:
    return FilterVerdict("active", site.active, "active" if site.active else "inactive")


def _capability(site: Site, request: RoutingRequest) -> FilterVerdict:
    if request.method is Method.PICKUP:
        if site.code != request.pickup_location:
            return FilterVerdict("capability", False, _NOT_THE_PICKUP_STORE)
        if "pickup" not in site.capabilities:
            return FilterVerdict("capability", False, "no pickup capability")
        return FilterVerdict("capability", True, "the chosen pickup store")
    # A store's stock is for its shop floor unless it is set up to ship from store.
    needed = "ship_from_store" if site.type == "store" else "ship"
    if needed not in site.capabilities:
        return FilterVerdict("capability", False, f"no {needed} capability")
    return FilterVerdict("capability", True, f"{needed} capability")


def _not_excluded(site: Site, request: RoutingRequest) -> FilterVerdict:
    if site.code in request.excluded:
        return FilterVerdict("not_excluded", False, "rejected or short-picked this order before")
    return FilterVerdict("not_excluded", True, "not excluded")


def _country(site: Site, request: RoutingRequest, strategy: Strategy) -> FilterVerdict:
    if request.method is Method.PICKUP:
        # Nothing crosses a border: the customer collects in the store.
        return FilterVerdict("country", True, "pickup, nothing shipped")
    allowed = strategy.allowed_destinations.get(site.code)
    if allowed is None:
        return FilterVerdict("country", True, "ships anywhere")
    if request.ship_to_country not in allowed:
        return FilterVerdict("country", False, f"does not ship to {request.ship_to_country}")
    return FilterVerdict("country", True, f"ships to {request.ship_to_country}")


def _capacity(site: Site) -> FilterVerdict:
    if site.daily_capacity is None:
        return FilterVerdict("capacity", True, "no daily capacity limit")
    if site.used_today >= site.daily_capacity:
        return FilterVerdict("capacity", False, f"daily capacity {site.daily_capacity} reached")
    return FilterVerdict("capacity", True, f"{site.used_today} of {site.daily_capacity} used today")


def _stock(site: Site, lines: Sequence[Demand]) -> FilterVerdict:
    has_some = any(site.available.get(line.sku, 0) > 0 for line in lines)
    in_full = _lines_in_full(lines, site.available)
    count = len(lines)
    if count == 1:
        reason = (
            "the line is in stock"
            if in_full
            else ("only part of the line in stock" if has_some else "the line is not in stock")
        )
    elif in_full == count:
        reason = f"all {count} lines in stock"
    elif in_full:
        reason = f"{in_full} of {count} lines in stock"
    else:
        reason = (
            f"some stock, but none of the {count} lines in full"
            if has_some
            else f"none of the {count} lines in stock"
        )
    return FilterVerdict("stock", has_some, reason)


def _lines_in_full(lines: Sequence[Demand], available: Mapping[str, int]) -> int:
    """Lines the stock serves in full, taken in order (two lines of one SKU share its stock)."""
    left = dict(available)
    served = 0
    for line in lines:
        if left.get(line.sku, 0) >= line.quantity:
            left[line.sku] -= line.quantity
            served += 1
    return served


def _covers_all(lines: Sequence[Demand], available: Mapping[str, int]) -> bool:
    return all(available.get(sku, 0) >= qty for sku, qty in _needed(lines).items())


def _needed(lines: Iterable[Demand]) -> dict[str, int]:
    needed: dict[str, int] = {}
    for line in lines:
        needed[line.sku] = needed.get(line.sku, 0) + line.quantity
    return dict(sorted(needed.items()))


# --- scores -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leg:
    """The shipment from a site to the customer, as far as it is known."""

    km: float | None
    quote: Quote | None


def _leg(site: Site, request: RoutingRequest, rates: RateTable) -> _Leg:
    km = (
        great_circle_km(site.point, request.ship_to_point)
        if site.point is not None and request.ship_to_point is not None
        else None
    )
    if request.method is Method.PICKUP:
        return _Leg(km, None)
    quote = rates.cheapest(
        distance_km=km,
        domestic=site.country == request.ship_to_country,
        level=request.service_level,
    )
    return _Leg(km, quote)


def _score(
    sites: Sequence[Site], request: RoutingRequest, strategy: Strategy, rates: RateTable
) -> dict[str, tuple[ScoreComponent, ...]]:
    """Each site's components, normalised against the other sites scored with it."""
    legs = {s.code: _leg(s, request, rates) for s in sites}
    distance = _distance_scorer([leg.km for leg in legs.values() if leg.km is not None])
    cost = _cost_scorer([leg.quote.price for leg in legs.values() if leg.quote is not None])
    weights = strategy.weights
    scored: dict[str, tuple[ScoreComponent, ...]] = {}
    for site in sites:
        leg = legs[site.code]
        covers = _covers_all(request.lines, site.available)
        uncovered = len(request.lines) - _lines_in_full(request.lines, site.available)
        depth, depth_score = _stock_depth(site, request.lines)
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


def _total(components: Iterable[ScoreComponent]) -> float:
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


def _stock_depth(site: Site, lines: Sequence[Demand]) -> tuple[float, float]:
    """(units left after the pick, score) for the weakest requested SKU the site stocks.

    Per SKU the score is left / (left + demanded): 0 when the pick empties the shelf (the
    next order finds nothing, and a miscount means a short pick), 0.5 when as much is left
    as the order takes, towards 1 as stock deepens. The weakest SKU sets the score.
    """
    figures = [
        (available - min(available, demanded), demanded)
        for sku, demanded in _needed(lines).items()
        if (available := site.available.get(sku, 0)) > 0
    ]
    if not figures:
        return 0.0, 0.0
    left = min(units for units, _ in figures)
    score = min(units / (units + demanded) for units, demanded in figures)
    return float(left), score


def _ranked(sites: Iterable[Site], totals: Mapping[str, float]) -> list[Site]:
    """Best first: highest total, then higher priority, then code alphabetically."""
    return sorted(sites, key=lambda s: (-totals[s.code], -s.priority, s.code))


# --- plans --------------------------------------------------------------------------------


def _fewest_parts(
    ranked: Sequence[Site], totals: Mapping[str, float], lines: Sequence[Demand], max_parts: int
) -> tuple[Site, ...] | None:
    """The smallest combination of sites whose stock together covers every line (a line may
    be split), the highest summed score among those; None when none fits in max_parts."""
    pool = ranked[:SPLIT_CANDIDATE_POOL]
    needed = _needed(lines)
    for size in range(2, max_parts + 1):
        best: tuple[Site, ...] | None = None
        best_total = 0.0
        # combinations() of the ranked pool come in a fixed order; the first best wins ties.
        for combo in combinations(pool, size):
            if not _covers(combo, needed):
                continue
            total = round(sum(totals[s.code] for s in combo), 4)
            if best is None or total > best_total:
                best, best_total = combo, total
        if best is not None:
            return best
    return None


def _covers(sites: Sequence[Site], needed: Mapping[str, int]) -> bool:
    return all(sum(s.available.get(sku, 0) for s in sites) >= qty for sku, qty in needed.items())


def _allocate(lines: Sequence[Demand], sites: Sequence[Site]) -> dict[str, list[Allocation]]:
    """Each line from the first site (in the given order) with stock left, the rest of it
    from the next; only called when the sites together cover every line."""
    left = {s.code: dict(s.available) for s in sites}
    allocations: dict[str, list[Allocation]] = {s.code: [] for s in sites}
    for line in lines:
        remaining = line.quantity
        for site in sites:
            take = min(remaining, left[site.code].get(line.sku, 0))
            if take > 0:
                left[site.code][line.sku] -= take
                allocations[site.code].append(Allocation(line.line_id, line.sku, take))
                remaining -= take
            if remaining == 0:
                break
    return allocations


def _allocate_with_backorder(lines: Sequence[Demand], site: Site) -> list[Allocation]:
    """What the site has on hand is held now; the rest waits for incoming stock."""
    left = dict(site.available)
    allocations: list[Allocation] = []
    for line in lines:
        on_hand = min(line.quantity, max(0, left.get(line.sku, 0)))
        left[line.sku] = left.get(line.sku, 0) - on_hand
        if on_hand:
            allocations.append(Allocation(line.line_id, line.sku, on_hand))
        if line.quantity > on_hand:
            allocations.append(
                Allocation(line.line_id, line.sku, line.quantity - on_hand, backorder=True)
            )
    return allocations


def _nothing_can_serve(
    context: _Context, ordered: Sequence[Site], verdicts: Mapping[str, tuple[FilterVerdict, ...]]
) -> RoutingDecision:
    request, strategy = context.request, context.strategy
    reason = _why_nothing_serves(request, strategy, ordered, verdicts)
    if strategy.policy_for(request.channel) is NoRoutePolicy.REJECT:
        return context.unroutable(reason)
    waiting = [s for s in ordered if _passes(verdicts[s.code], ignore="stock")]
    if not waiting:
        return context.unroutable(reason)
    # Ranked among themselves: the eligible sites' report scores were normalised over a
    # different set, and most of these have no score at all.
    components = _score(waiting, request, strategy, context.rates)
    site = _ranked(waiting, {code: _total(c) for code, c in components.items()})[0]
    return context.backordered(site, reason)


def _why_nothing_serves(
    request: RoutingRequest,
    strategy: Strategy,
    ordered: Sequence[Site],
    verdicts: Mapping[str, tuple[FilterVerdict, ...]],
) -> str:
    if request.method is Method.PICKUP:
        return _why_pickup_fails(request, ordered, verdicts)
    if not any(_passes(verdicts[s.code], ignore="stock") for s in ordered):
        return "no location passes the filters for this order"
    parts = "1 part" if strategy.max_parts == 1 else f"{strategy.max_parts} parts"
    return f"no location can ship {_all_lines(len(request.lines))} within {parts}"


def _why_pickup_fails(
    request: RoutingRequest,
    ordered: Sequence[Site],
    verdicts: Mapping[str, tuple[FilterVerdict, ...]],
) -> str:
    code = request.pickup_location
    if code is None:
        return "no pickup store was chosen"
    store = next((s for s in ordered if s.code == code), None)
    if store is None:
        return f"pickup store {code} is not a known location"
    failed = _first_failure(verdicts[code], ignore="stock")
    if failed is not None:
        return f"pickup store {code} cannot serve: {failed.reason}"
    shortages = [
        f"{store.available.get(sku, 0)} of {qty} units of {sku}"
        for sku, qty in _needed(request.lines).items()
        if store.available.get(sku, 0) < qty
    ]
    return f"pickup store {code} has " + ", ".join(shortages)


def _first_failure(
    verdicts: Iterable[FilterVerdict], *, ignore: str | None = None
) -> FilterVerdict | None:
    return next((v for v in verdicts if not v.passed and v.name != ignore), None)


# --- decisions and their explanations -----------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every decision is built from, so the builders take one argument, not six."""

    request: RoutingRequest
    strategy: Strategy
    rates: RateTable
    reports: tuple[CandidateReport, ...]
    totals: Mapping[str, float]

    def _part(self, site: Site, allocations: Sequence[Allocation]) -> Part:
        return Part(site.code, tuple(allocations), _leg(site, self.request, self.rates).quote)

    def _decision(
        self, outcome: Outcome, parts: Sequence[Part], explanation: str, reason: str | None
    ) -> RoutingDecision:
        return RoutingDecision(
            outcome=outcome,
            strategy_version=self.strategy.version,
            candidates=self.reports,
            parts=tuple(parts),
            explanation=explanation,
            reason=reason,
        )

    def routed_single(self, winner: Site, ranked: Sequence[Site]) -> RoutingDecision:
        allocations = _allocate(self.request.lines, [winner])[winner.code]
        head = f"{winner.code}: {self._why_winner(winner, ranked)}"
        sentence = _sentence(head, self._others({winner.code}, self.totals[winner.code]))
        return self._decision(Outcome.ROUTED, [self._part(winner, allocations)], sentence, None)

    def routed_split(self, sites: Sequence[Site]) -> RoutingDecision:
        allocations = _allocate(self.request.lines, sites)
        parts = [self._part(s, allocations[s.code]) for s in sites if allocations[s.code]]
        shares = ", ".join(
            f"{p.location_code} {_count(len({a.line_id for a in p.allocations}), 'line')}"
            for p in parts
        )
        head = (
            f"Split into {len(parts)} parts (no single location has "
            f"{_all_lines(len(self.request.lines))} in stock): {shares}"
        )
        sentence = _sentence(head, self._others({p.location_code for p in parts}, None))
        return self._decision(Outcome.ROUTED, parts, sentence, None)

    def backordered(self, site: Site, reason: str) -> RoutingDecision:
        allocations = _allocate_with_backorder(self.request.lines, site)
        held = sum(a.quantity for a in allocations if not a.backorder)
        if held:
            total = sum(line.quantity for line in self.request.lines)
            stock = f"{held} of {_count(total, 'unit')} from stock on hand, the rest on backorder"
        else:
            stock = "everything on backorder"
        head = f"Backordered at {site.code} ({reason}): {stock}"
        sentence = _sentence(head, self._others({site.code}, None))
        part = self._part(site, allocations)
        return self._decision(Outcome.BACKORDERED, [part], sentence, reason)

    def unroutable(self, reason: str) -> RoutingDecision:
        sentence = _sentence(f"Unroutable: {reason}", self._others(set(), None))
        return self._decision(Outcome.UNROUTABLE, [], sentence, reason)

    def _why_winner(self, winner: Site, ranked: Sequence[Site]) -> str:
        lines = _all_lines(len(self.request.lines))
        if self.request.method is Method.PICKUP:
            return f"the chosen pickup store, {lines} in stock"
        if len(ranked) == 1:
            return f"only eligible location, {lines} in stock"
        rivals = [
            s for s in ranked if s is not winner and _covers_all(self.request.lines, s.available)
        ]
        if not rivals:
            return f"only location with {lines} in stock"
        edge = _decisive_component(self._report(winner.code), self._report(rivals[0].code))
        if edge is None:
            return f"location with {lines} in stock, ahead of {rivals[0].code} on the tie-break"
        return f"{_EDGE_WORDS[edge]} location with {lines} in stock"

    def _report(self, code: str) -> CandidateReport:
        return next(r for r in self.reports if r.location_code == code)

    def _others(self, chosen: set[str], winner_total: float | None) -> list[str]:
        """A few words on each site not chosen: the closest contenders first, then the
        rejected ones. Sites that are merely not the chosen pickup store are only counted."""
        contenders = sorted(
            (r for r in self.reports if r.eligible and r.location_code not in chosen),
            key=lambda r: (-(r.total or 0.0), r.location_code),
        )
        rejected = [r for r in self.reports if not r.eligible and r.location_code not in chosen]
        not_chosen_store = [r for r in rejected if _only_not_the_pickup_store(r)]
        rejected = [r for r in rejected if not _only_not_the_pickup_store(r)]
        words = [self._contender(r, winner_total) for r in contenders]
        words += [f"{r.location_code} rejected: {_rejection(r)}" for r in rejected]
        if len(words) > EXPLAINED_SITES:
            words = [*words[:EXPLAINED_SITES], f"and {len(words) - EXPLAINED_SITES} more"]
        if not_chosen_store:
            words.append(
                f"{_count(len(not_chosen_store), 'other location')} "
                f"{'is' if len(not_chosen_store) == 1 else 'are'} {_NOT_THE_PICKUP_STORE}"
            )
        return words

    def _contender(self, report: CandidateReport, winner_total: float | None) -> str:
        code, total = report.location_code, report.total or 0.0
        if not report.covers_all:
            stock = next(v for v in report.filters if v.name == "stock")
            return f"{code} has {stock.reason}"
        if winner_total is None:
            return f"{code} not needed (score {total:.2f})"
        if total == winner_total:
            return f"{code} scored the same ({total:.2f}) and lost the tie-break"
        return f"{code} scored lower ({total:.2f} vs {winner_total:.2f})"


def _decisive_component(winner: CandidateReport, runner_up: CandidateReport) -> str | None:
    """The component where the winner gains most on the runner-up; None when it gains on
    none (the tie-break decided). Equal gains go to the earlier component: distance and cost
    often move together, and "nearest" is the more tangible reason."""
    theirs = {c.name: c.contribution for c in runner_up.components}
    gains = [
        (round(c.contribution - theirs.get(c.name, 0.0), 6), c.name)
        for c in winner.components
        if c.name in _EDGE_WORDS
    ]
    best_gain, best_name = max(gains, key=lambda g: g[0], default=(0.0, ""))
    return best_name if best_gain > 0 else None


def _only_not_the_pickup_store(report: CandidateReport) -> bool:
    failed = [v for v in report.filters if not v.passed]
    return bool(failed) and failed[0].reason == _NOT_THE_PICKUP_STORE


def _rejection(report: CandidateReport) -> str:
    failed = _first_failure(report.filters)
    return failed.reason if failed is not None else "not eligible"


def _sentence(head: str, others: Sequence[str]) -> str:
    return "; ".join([head, *others]) + "."


def _all_lines(count: int) -> str:
    return "the line" if count == 1 else f"all {count} lines"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
