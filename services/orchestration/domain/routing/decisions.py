"""The decisions a routing ends in: routed in one part or split, backordered, or unroutable;
each with its parts, the candidate reports and the sentence that explains it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.routing.explain import (
    about_others,
    all_lines,
    count_of,
    sentence,
    why_winner,
)
from services.orchestration.domain.routing.model import (
    Allocation,
    CandidateReport,
    Outcome,
    Part,
    RoutingDecision,
    RoutingRequest,
    Site,
    Strategy,
)
from services.orchestration.domain.routing.planning import allocate, allocate_with_backorder
from services.orchestration.domain.routing.scoring import shipping_leg


@dataclass(frozen=True)
class Context:
    """What every decision is built from, so the builders take one argument, not six."""

    request: RoutingRequest
    strategy: Strategy
    rates: RateTable
    reports: tuple[CandidateReport, ...]
    totals: Mapping[str, float]

    def _part(self, site: Site, allocations: Sequence[Allocation]) -> Part:
        quote = shipping_leg(site, self.request, self.rates).quote
        return Part(site.code, tuple(allocations), quote)

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

    def _others(self, chosen: set[str], winner_total: float | None) -> list[str]:
        return about_others(self.reports, chosen, winner_total)

    def routed_single(self, winner: Site, ranked: Sequence[Site]) -> RoutingDecision:
        allocations = allocate(self.request.lines, [winner])[winner.code]
        head = f"{winner.code}: {why_winner(self.request, self.reports, winner, ranked)}"
        text = sentence(head, self._others({winner.code}, self.totals[winner.code]))
        return self._decision(Outcome.ROUTED, [self._part(winner, allocations)], text, None)

    def routed_split(self, sites: Sequence[Site]) -> RoutingDecision:
        allocations = allocate(self.request.lines, sites)
        parts = [self._part(s, allocations[s.code]) for s in sites if allocations[s.code]]
        shares = ", ".join(
            f"{p.location_code} {count_of(len({a.line_id for a in p.allocations}), 'line')}"
            for p in parts
        )
        head = (
            f"Split into {len(parts)} parts (no single location has "
            f"{all_lines(len(self.request.lines))} in stock): {shares}"
        )
        text = sentence(head, self._others({p.location_code for p in parts}, None))
        return self._decision(Outcome.ROUTED, parts, text, None)

    def backordered(self, site: Site, reason: str) -> RoutingDecision:
        allocations = allocate_with_backorder(self.request.lines, site)
        held = sum(a.quantity for a in allocations if not a.backorder)
        if held:
            total = sum(line.quantity for line in self.request.lines)
            stock = f"{held} of {count_of(total, 'unit')} from stock on hand, the rest on backorder"
        else:
            stock = "everything on backorder"
        head = f"Backordered at {site.code} ({reason}): {stock}"
        text = sentence(head, self._others({site.code}, None))
        part = self._part(site, allocations)
        return self._decision(Outcome.BACKORDERED, [part], text, reason)

    def unroutable(self, reason: str) -> RoutingDecision:
        text = sentence(f"Unroutable: {reason}", self._others(set(), None))
        return self._decision(Outcome.UNROUTABLE, [], text, reason)
