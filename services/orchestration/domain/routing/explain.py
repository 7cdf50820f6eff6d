"""The sentence that explains a decision: why the winner won, a few words on each site not
chosen, and why nothing could serve when nothing could."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from datetime import date

from services.orchestration.domain.routing.filters import (
    NOT_THE_PICKUP_STORE,
    first_failure,
    needed,
    passes,
)
from services.orchestration.domain.routing.model import (
    CandidateReport,
    FilterVerdict,
    Method,
    RoutingDecision,
    RoutingRequest,
    Site,
    Strategy,
)

# The explanation names at most this many sites besides the chosen ones, then "and N more".
EXPLAINED_SITES = 5

_EDGE_WORDS = {
    "distance": "nearest",
    "shipping_cost": "cheapest",
    "priority": "highest-priority",
    "stock_depth": "best-stocked",
}


def why_winner(
    request: RoutingRequest,
    reports: Sequence[CandidateReport],
    winner: Site,
    ranked: Sequence[Site],
) -> str:
    lines = all_lines(len(request.lines))
    if request.method is Method.PICKUP:
        return f"the chosen pickup store, {lines} in stock"
    if len(ranked) == 1:
        return f"only eligible location, {lines} in stock"
    # Only the best rival matters, and each report already knows whether it covers all.
    covering = {r.location_code for r in reports if r.covers_all}
    rival = next((s for s in ranked if s is not winner and s.code in covering), None)
    if rival is None:
        return f"only location with {lines} in stock"
    edge = _decisive_component(_report(reports, winner.code), _report(reports, rival.code))
    if edge is None:
        return f"location with {lines} in stock, ahead of {rival.code} on the tie-break"
    return f"{_EDGE_WORDS[edge]} location with {lines} in stock"


def _report(reports: Sequence[CandidateReport], code: str) -> CandidateReport:
    return next(r for r in reports if r.location_code == code)


def about_others(
    reports: Sequence[CandidateReport], chosen: set[str], winner_total: float | None
) -> list[str]:
    """A few words on each site not chosen: the closest contenders first, then the
    rejected ones. Sites that are merely not the chosen pickup store are only counted."""
    contenders = [r for r in reports if r.eligible and r.location_code not in chosen]
    rejected = [r for r in reports if not r.eligible and r.location_code not in chosen]
    not_chosen_store = [r for r in rejected if _only_not_the_pickup_store(r)]
    rejected = [r for r in rejected if not _only_not_the_pickup_store(r)]
    # Only the first few are put into words: a hundred candidates are common, five are read.
    closest = heapq.nsmallest(
        EXPLAINED_SITES, contenders, key=lambda r: (-(r.total or 0.0), r.location_code)
    )
    words = [_contender(r, winner_total) for r in closest]
    words += [
        f"{r.location_code} rejected: {_rejection(r)}"
        for r in rejected[: EXPLAINED_SITES - len(closest)]
    ]
    if (named := len(contenders) + len(rejected)) > EXPLAINED_SITES:
        words.append(f"and {named - EXPLAINED_SITES} more")
    if not_chosen_store:
        words.append(
            f"{count_of(len(not_chosen_store), 'other location')} "
            f"{'is' if len(not_chosen_store) == 1 else 'are'} {NOT_THE_PICKUP_STORE}"
        )
    return words


def _contender(report: CandidateReport, winner_total: float | None) -> str:
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
    return bool(failed) and failed[0].reason == NOT_THE_PICKUP_STORE


def _rejection(report: CandidateReport) -> str:
    failed = first_failure(report.filters)
    return failed.reason if failed is not None else "not eligible"


def why_nothing_serves(
    request: RoutingRequest,
    strategy: Strategy,
    ordered: Sequence[Site],
    verdicts: Mapping[str, tuple[FilterVerdict, ...]],
) -> str:
    if request.method is Method.PICKUP:
        return _why_pickup_fails(request, ordered, verdicts)
    if not any(passes(verdicts[s.code], ignore="stock") for s in ordered):
        return "no location passes the filters for this order"
    parts = "1 part" if strategy.max_parts == 1 else f"{strategy.max_parts} parts"
    return f"no location can ship {all_lines(len(request.lines))} within {parts}"


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
    failed = first_failure(verdicts[code], ignore="stock")
    if failed is not None:
        return f"pickup store {code} cannot serve: {failed.reason}"
    shortages = [
        f"{store.available.get(sku, 0)} of {qty} units of {sku}"
        for sku, qty in needed(request.lines).items()
        if store.available.get(sku, 0) < qty
    ]
    return f"pickup store {code} has " + ", ".join(shortages)


def on_time_note(
    request: RoutingRequest,
    decision: RoutingDecision,
    arrivals: Mapping[str, date | None],
    requested: date,
) -> str:
    """The sentence put before a plan that delivers by the requested date: when it arrives."""
    days = [arrivals[p.location_code] for p in decision.parts]
    last = max(day for day in days if day is not None)
    if request.method is Method.PICKUP:
        when = f"ready for pickup {last.isoformat()}"
    else:
        when = f"{'the last part arrives' if len(days) > 1 else 'arrives'} {last.isoformat()}"
    return f"Meets the requested delivery date {requested.isoformat()}: {when}."


def late_note(
    request: RoutingRequest,
    strategy: Strategy,
    arrivals: Mapping[str, date | None],
    on_time: Sequence[str],
    requested: date,
) -> str:
    """The sentence put before a plan that misses the requested date because no plan could
    meet it: why not, and the earliest a location would deliver."""
    by = requested.isoformat()
    if on_time:
        names = ", ".join(on_time[:EXPLAINED_SITES])
        if len(on_time) > EXPLAINED_SITES:
            names += f" and {len(on_time) - EXPLAINED_SITES} more"
        parts = "1 part" if strategy.max_parts == 1 else f"{strategy.max_parts} parts"
        return (
            f"No plan can deliver by {by}: {names} could, but cannot ship "
            f"{all_lines(len(request.lines))} within {parts}."
        )
    known = sorted((day, code) for code, day in arrivals.items() if day is not None)
    if not known:
        return (
            f"No location can deliver by {by}: no carrier service offers {request.service_level}."
        )
    day, code = known[0]
    if request.method is Method.PICKUP:
        return f"{code} cannot have it ready for pickup by {by}; it is ready {day.isoformat()}."
    return f"No location can deliver by {by}; the earliest arrives {day.isoformat()} from {code}."


def sentence(head: str, others: Sequence[str]) -> str:
    return "; ".join([head, *others]) + "."


def all_lines(count: int) -> str:
    return "the line" if count == 1 else f"all {count} lines"


def count_of(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
