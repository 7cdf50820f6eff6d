"""The hard filters every site goes through, and the stock arithmetic they share.

A site that fails any filter is not scored; every filter runs for every site all the same,
so a report always shows the whole picture. The one exception is the delivery-date filter,
which runs only when the order has a requested delivery date, and then only on the sites
that pass every other filter: its verdict takes a carrier quote, which is wasted on a site
that is refused anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cache, lru_cache
from operator import attrgetter

from services.orchestration.domain.routing.model import (
    Demand,
    FilterVerdict,
    Method,
    RoutingRequest,
    Site,
    Strategy,
)

NOT_THE_PICKUP_STORE = "not the chosen pickup store"
DELIVERY_DATE = "delivery_date"


def run_filters(
    site: Site,
    request: RoutingRequest,
    strategy: Strategy,
    demand: Mapping[str, int] | None = None,
    served: int | None = None,
) -> tuple[FilterVerdict, ...]:
    """Every filter for every site, so a report always shows the whole picture (a site can
    be both inactive and out of stock, and both are worth knowing). `demand`, the request's
    units per SKU, and `served`, the lines the site serves in full, may be passed in when
    many sites are filtered for one request."""
    return (
        _ACTIVE if site.active else _INACTIVE,
        _capability(site, request),
        _EXCLUDED if site.code in request.excluded else _NOT_EXCLUDED,
        _country(site, request, strategy),
        _capacity(site),
        _stock(site, request.lines, needed(request.lines) if demand is None else demand, served),
    )


# The verdicts that never vary are made once: routing runs six filters on every candidate of
# every order, and these four are the same for most of them.
_ACTIVE = FilterVerdict("active", True, "active")
_INACTIVE = FilterVerdict("active", False, "inactive")
_NOT_EXCLUDED = FilterVerdict("not_excluded", True, "not excluded")
_EXCLUDED = FilterVerdict("not_excluded", False, "rejected or short-picked this order before")
_SHIPS_ANYWHERE = FilterVerdict("country", True, "ships anywhere")
_PICKUP_COUNTRY = FilterVerdict("country", True, "pickup, nothing shipped")
_NO_CAPACITY_LIMIT = FilterVerdict("capacity", True, "no daily capacity limit")
_CAPABLE = {
    needed: FilterVerdict("capability", True, f"{needed} capability")
    for needed in ("ship", "ship_from_store")
}


def passes(verdicts: Iterable[FilterVerdict], *, ignore: str | None = None) -> bool:
    if ignore is None:  # asked of every candidate of every order
        return all(map(_PASSED, verdicts))
    return all(v.passed for v in verdicts if v.name != ignore)


_PASSED = attrgetter("passed")


def first_failure(
    verdicts: Iterable[FilterVerdict], *, ignore: str | None = None
) -> FilterVerdict | None:
    return next((v for v in verdicts if not v.passed and v.name != ignore), None)


def _capability(site: Site, request: RoutingRequest) -> FilterVerdict:
    if request.method is Method.PICKUP:
        if site.code != request.pickup_location:
            return FilterVerdict("capability", False, NOT_THE_PICKUP_STORE)
        if "pickup" not in site.capabilities:
            return FilterVerdict("capability", False, "no pickup capability")
        return FilterVerdict("capability", True, "the chosen pickup store")
    # A store's stock is for its shop floor unless it is set up to ship from store.
    wanted = "ship_from_store" if site.type == "store" else "ship"
    if wanted not in site.capabilities:
        return FilterVerdict("capability", False, f"no {wanted} capability")
    return _CAPABLE[wanted]


def _country(site: Site, request: RoutingRequest, strategy: Strategy) -> FilterVerdict:
    if request.method is Method.PICKUP:
        # Nothing crosses a border: the customer collects in the store.
        return _PICKUP_COUNTRY
    allowed = strategy.allowed_destinations.get(site.code)
    if allowed is None:
        return _SHIPS_ANYWHERE
    if request.ship_to_country not in allowed:
        return FilterVerdict("country", False, f"does not ship to {request.ship_to_country}")
    return FilterVerdict("country", True, f"ships to {request.ship_to_country}")


def _capacity(site: Site) -> FilterVerdict:
    if site.daily_capacity is None:
        return _NO_CAPACITY_LIMIT
    if site.used_today >= site.daily_capacity:
        return FilterVerdict("capacity", False, f"daily capacity {site.daily_capacity} reached")
    return FilterVerdict("capacity", True, f"{site.used_today} of {site.daily_capacity} used today")


def _stock(
    site: Site, lines: Sequence[Demand], demand: Mapping[str, int], served: int | None
) -> FilterVerdict:
    available = site.available
    has_some = any(available.get(sku, 0) > 0 for sku in demand)
    in_full = lines_in_full(lines, available) if served is None else served
    return _stock_verdict(len(lines), in_full, has_some)


@cache
def _stock_verdict(count: int, in_full: int, has_some: bool) -> FilterVerdict:
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


def delivery_date_verdict(
    arrives: date | None, requested: date, *, pickup: bool, level: str, waived: bool = False
) -> FilterVerdict:
    """The delivery-date filter on a site whose parcel arrives (for pickup: is ready) on
    `arrives`, None when no carrier service offers the level. `waived` when no plan could
    deliver by the date: a late site then passes after all, and the order goes to the best
    of them rather than nowhere (the decision says so)."""
    return _date_verdict(arrives, requested, pickup, level, waived)


# Bounded: one verdict per (arrival, requested date, ...) seen lately, shared by every site
# with those dates, as the other filters share theirs (the stored decision keeps each
# distinct set of verdicts once).
@lru_cache(maxsize=4096)
def _date_verdict(
    arrives: date | None, requested: date, pickup: bool, level: str, waived: bool
) -> FilterVerdict:
    if arrives is None:
        reason = f"no carrier service offers {level}"
    else:
        verb = "ready" if pickup else "arrives"
        on_time = arrives <= requested
        when = "by" if on_time else "after"
        reason = f"{verb} {arrives.isoformat()}, {when} the requested {requested.isoformat()}"
        if on_time:
            return FilterVerdict(DELIVERY_DATE, True, reason)
    if waived:
        return FilterVerdict(DELIVERY_DATE, True, f"{reason} (waived: no plan delivers by then)")
    return FilterVerdict(DELIVERY_DATE, False, reason)


def lines_in_full(lines: Sequence[Demand], available: Mapping[str, int]) -> int:
    """Lines the stock serves in full, taken in order (two lines of one SKU share its stock)."""
    left = dict(available)
    served = 0
    for line in lines:
        if left.get(line.sku, 0) >= line.quantity:
            left[line.sku] -= line.quantity
            served += 1
    return served


def needed(lines: Iterable[Demand]) -> dict[str, int]:
    """Units demanded per SKU, in SKU order (lines of one SKU add up)."""
    total: dict[str, int] = {}
    for line in lines:
        total[line.sku] = total.get(line.sku, 0) + line.quantity
    return dict(sorted(total.items()))
