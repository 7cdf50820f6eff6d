"""Plans: the fewest-parts split search, the site to backorder at when nothing serves, and
how an order's lines are allocated across the chosen sites."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.routing.filters import needed, passes
from services.orchestration.domain.routing.model import (
    Allocation,
    Demand,
    FilterVerdict,
    RoutingRequest,
    Site,
    Strategy,
)
from services.orchestration.domain.routing.scoring import rank, score_sites

# Splits are searched over this many of the best-scoring eligible sites: C(12, 3) = 220
# combinations at the default max_parts, and a split plan rarely needs a site ranked lower.
SPLIT_CANDIDATE_POOL = 12


def fewest_parts(
    ranked: Sequence[Site], totals: Mapping[str, float], lines: Sequence[Demand], max_parts: int
) -> tuple[Site, ...] | None:
    """The smallest combination of sites whose stock together covers every line (a line may
    be split), the highest summed score among those; None when none fits in max_parts."""
    pool = ranked[:SPLIT_CANDIDATE_POOL]
    demand = needed(lines)
    for size in range(2, max_parts + 1):
        best: tuple[Site, ...] | None = None
        best_total = 0.0
        # combinations() of the ranked pool come in a fixed order; the first best wins ties.
        for combo in combinations(pool, size):
            if not _covers(combo, demand):
                continue
            total = round(sum(totals[s.code] for s in combo), 4)
            if best is None or total > best_total:
                best, best_total = combo, total
        if best is not None:
            return best
    return None


def _incoming_covers(site: Site, lines: Sequence[Demand]) -> bool:
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    return all(
        site.available.get(sku, 0) + site.incoming.get(sku, 0) >= qty for sku, qty in wanted.items()
    )


def _covers(sites: Sequence[Site], demand: Mapping[str, int]) -> bool:
    return all(sum(s.available.get(sku, 0) for s in sites) >= qty for sku, qty in demand.items())


def backorder_site(
    request: RoutingRequest,
    strategy: Strategy,
    rates: RateTable,
    ordered: Sequence[Site],
    verdicts: Mapping[str, tuple[FilterVerdict, ...]],
) -> Site | None:
    """The best site that passes every filter but stock and expects enough incoming stock
    to serve the rest; None when there is none (inventory would refuse the backorder)."""
    waiting = [
        s
        for s in ordered
        if passes(verdicts[s.code], ignore="stock") and _incoming_covers(s, request.lines)
    ]
    if not waiting:
        return None
    # Ranked among themselves: the eligible sites' report scores were normalised over a
    # different set, and most of these have no score at all.
    scored = score_sites(waiting, request, strategy, rates)
    return rank(waiting, {code: figures.total for code, figures in scored.items()})[0]


def allocate(lines: Sequence[Demand], sites: Sequence[Site]) -> dict[str, list[Allocation]]:
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


def allocate_with_backorder(lines: Sequence[Demand], site: Site) -> list[Allocation]:
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
