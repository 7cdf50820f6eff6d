"""The routing engine: which locations serve an order, in how many parts, and why.

Pure and deterministic: the same request, sites, strategy and rates always give the same
decision (sites are sorted by code first, every tie has an explicit tie-break), so a stored
decision can be replayed and its explanation trusted.

The steps: every site goes through the hard filters (filters.py); the eligible ones are scored
(scoring.py); the plan is one part at the best site that has every line, else the fewest parts
that cover every line (planning.py); when nothing can, the channel's policy backorders at the
best site or rejects the order. Each decision carries a sentence explaining it (explain.py,
decisions.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.routing.arrival import arrivals as arrivals_from
from services.orchestration.domain.routing.decisions import Context
from services.orchestration.domain.routing.explain import (
    late_note,
    on_time_note,
    why_nothing_serves,
)
from services.orchestration.domain.routing.filters import (
    delivery_date_verdict,
    lines_in_full,
    needed,
    passes,
    run_filters,
)
from services.orchestration.domain.routing.model import (
    CandidateReport,
    FilterVerdict,
    Method,
    NoRoutePolicy,
    Outcome,
    RoutingDecision,
    RoutingRequest,
    Site,
    Strategy,
)
from services.orchestration.domain.routing.planning import backorder_site, fewest_parts
from services.orchestration.domain.routing.scoring import rank, score_sites

__all__ = ["route"]

Verdicts = Mapping[str, tuple[FilterVerdict, ...]]


def route(
    request: RoutingRequest,
    sites: Sequence[Site],
    strategy: Strategy,
    rates: RateTable,
    *,
    now: datetime | None = None,
) -> RoutingDecision:
    """The decision for `request`. `now` is the moment the order would be handed to a
    location: a requested delivery date is checked against arrivals counted from it (the
    engine reads no clock), so it is needed only with a requested delivery date."""
    if any(line.quantity < 1 for line in request.lines):
        raise ValueError("every line to route needs a quantity of at least 1")
    requested = request.requested_delivery_date
    if requested is not None and now is None:
        raise ValueError("a requested delivery date needs `now` to count arrivals from")
    ordered = sorted(sites, key=lambda s: s.code)
    demand = needed(request.lines)  # once: it is asked of every site, several times
    # Lines each site serves in full, counted once for the stock filter and the score;
    # serving every line in full is the same as covering the summed demand per SKU.
    served = {s.code: lines_in_full(request.lines, s.available) for s in ordered}
    full = {code: count == len(request.lines) for code, count in served.items()}
    verdicts = {s.code: run_filters(s, request, strategy, demand, served[s.code]) for s in ordered}
    ground = _Ground(request, strategy, rates, ordered, served, full)
    if requested is None or now is None or not request.lines:
        return ground.decide(verdicts)
    return _by_requested_date(ground, verdicts, requested, now)


@dataclass(frozen=True)
class _Ground:
    """What stays the same however the filters end: the request, the sites in code order,
    the lines each serves in full."""

    request: RoutingRequest
    strategy: Strategy
    rates: RateTable
    ordered: Sequence[Site]
    served: Mapping[str, int]
    full: Mapping[str, bool]

    def plan(self, verdicts: Verdicts) -> tuple[Context, RoutingDecision | None]:
        """The sites that pass every filter, scored and reported, and the order routed from
        them in one part or split; None for the decision when they cannot serve it."""
        request, full = self.request, self.full
        eligible = [s for s in self.ordered if passes(verdicts[s.code])]
        scored = score_sites(eligible, request, self.strategy, self.rates, self.served)
        totals = {code: figures.total for code, figures in scored.items()}
        reports = tuple(
            CandidateReport.of(
                s.code,
                verdicts[s.code],
                s.code in totals,
                full[s.code],
                totals.get(s.code),
                scored.get(s.code),
            )
            for s in self.ordered
        )
        ranked = rank(eligible, totals)
        context = Context(request, self.strategy, self.rates, reports, totals)
        if not request.lines:
            return context, context.unroutable("the order has no lines to route")
        single = next((s for s in ranked if full[s.code]), None)
        if single is not None:
            return context, context.routed_single(single, ranked)
        if request.method is Method.SHIP:
            split = fewest_parts(ranked, totals, request.lines, self.strategy.max_parts)
            if split is not None:
                return context, context.routed_split(split)
        return context, None

    def decide(self, verdicts: Verdicts) -> RoutingDecision:
        context, decision = self.plan(verdicts)
        if decision is not None:
            return decision
        return _nothing_can_serve(context, self.ordered, verdicts)


def _by_requested_date(
    ground: _Ground, verdicts: Verdicts, requested: date, now: datetime
) -> RoutingDecision:
    """The decision with the delivery-date filter: a plan of the sites that deliver by the
    date, else the best plan of all, saying that it misses the date."""
    request, rates = ground.request, ground.rates
    eligible = [s for s in ground.ordered if passes(verdicts[s.code])]
    arrivals = {
        code: None if found is None else found.delivery_date
        for code, found in arrivals_from(eligible, request, rates, now).items()
    }
    on_time = [c for c, day in arrivals.items() if day is not None and day <= requested]

    def with_dates(waived: bool) -> dict[str, tuple[FilterVerdict, ...]]:
        pickup, level = request.method is Method.PICKUP, request.service_level
        dated = {
            code: (
                *verdicts[code],
                delivery_date_verdict(day, requested, pickup=pickup, level=level, waived=waived),
            )
            for code, day in arrivals.items()
        }
        return {**verdicts, **dated}

    if on_time:
        context, decision = ground.plan(with_dates(waived=False))
        if decision is not None:
            note = on_time_note(request, decision, arrivals, requested)
            explanation = f"{note} {decision.explanation}"
            return replace(decision, meets_requested_date=True, explanation=explanation)
    waived = with_dates(waived=True)
    context, decision = ground.plan(waived)
    if decision is None or decision.outcome is not Outcome.ROUTED:
        # The date is not what stands in the way: the stock is.
        unmet = decision or _nothing_can_serve(context, ground.ordered, waived)
        return replace(unmet, meets_requested_date=False)
    note = late_note(request, ground.strategy, arrivals, on_time, requested)
    return replace(
        decision, meets_requested_date=False, explanation=f"{note} {decision.explanation}"
    )


def _nothing_can_serve(
    context: Context, ordered: Sequence[Site], verdicts: Verdicts
) -> RoutingDecision:
    request, strategy = context.request, context.strategy
    reason = why_nothing_serves(request, strategy, ordered, verdicts)
    if strategy.policy_for(request.channel) is NoRoutePolicy.REJECT:
        return context.unroutable(reason)
    site = backorder_site(request, strategy, context.rates, ordered, verdicts)
    if site is None:
        return context.unroutable(reason)
    return context.backordered(site, reason)
