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

from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.routing.decisions import Context
from services.orchestration.domain.routing.explain import why_nothing_serves
from services.orchestration.domain.routing.filters import (
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
    RoutingDecision,
    RoutingRequest,
    Site,
    Strategy,
)
from services.orchestration.domain.routing.planning import backorder_site, fewest_parts
from services.orchestration.domain.routing.scoring import rank, score_sites

__all__ = ["route"]


def route(
    request: RoutingRequest, sites: Sequence[Site], strategy: Strategy, rates: RateTable
) -> RoutingDecision:
    if any(line.quantity < 1 for line in request.lines):
        raise ValueError("every line to route needs a quantity of at least 1")
    ordered = sorted(sites, key=lambda s: s.code)
    demand = needed(request.lines)  # once: it is asked of every site, several times
    # Lines each site serves in full, counted once for the stock filter and the score;
    # serving every line in full is the same as covering the summed demand per SKU.
    served = {s.code: lines_in_full(request.lines, s.available) for s in ordered}
    full = {code: count == len(request.lines) for code, count in served.items()}
    verdicts = {s.code: run_filters(s, request, strategy, demand, served[s.code]) for s in ordered}
    eligible = [s for s in ordered if passes(verdicts[s.code])]
    scored = score_sites(eligible, request, strategy, rates, served)
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
        for s in ordered
    )
    ranked = rank(eligible, totals)
    context = Context(request, strategy, rates, reports, totals)

    if not request.lines:
        return context.unroutable("the order has no lines to route")
    single = next((s for s in ranked if full[s.code]), None)
    if single is not None:
        return context.routed_single(single, ranked)
    if request.method is Method.SHIP:
        split = fewest_parts(ranked, totals, request.lines, strategy.max_parts)
        if split is not None:
            return context.routed_split(split)
    return _nothing_can_serve(context, ordered, verdicts)


def _nothing_can_serve(
    context: Context, ordered: Sequence[Site], verdicts: Mapping[str, tuple[FilterVerdict, ...]]
) -> RoutingDecision:
    request, strategy = context.request, context.strategy
    reason = why_nothing_serves(request, strategy, ordered, verdicts)
    if strategy.policy_for(request.channel) is NoRoutePolicy.REJECT:
        return context.unroutable(reason)
    site = backorder_site(request, strategy, context.rates, ordered, verdicts)
    if site is None:
        return context.unroutable(reason)
    return context.backordered(site, reason)
