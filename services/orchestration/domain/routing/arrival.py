"""When an order sent from a site now would reach the customer: the day the site dispatches
it (cut-off and processing days, in the site's time zone), the carrier service the ship step
would choose for the order's service level, and that service's business-day transit.

Delivery promises and routing's delivery-date filter both ask this, so the date a promise
shows, the date routing checks a requested delivery date against and the label's carrier agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from services.orchestration.domain.carriers import RateTable, select_service
from services.orchestration.domain.routing.geo import km_to
from services.orchestration.domain.routing.model import Method, Quote, RoutingRequest, Site

_SATURDAY = 5  # date.weekday(): Monday is 0


@dataclass(frozen=True)
class Arrival:
    ship_date: date  # the day the site dispatches it (or has it ready, for pickup)
    delivery_date: date  # the day the customer has it
    quote: Quote | None  # the carrier service it goes with; None for pickup


def arrival(site: Site, request: RoutingRequest, rates: RateTable, now: datetime) -> Arrival | None:
    """The order's arrival from `site` if it is handed over now; None when no carrier service
    offers the request's level. A pickup order is the customer's to collect once the store
    has it ready: it travels nowhere."""
    return arrivals([site], request, rates, now)[site.code]


def arrivals(
    sites: Sequence[Site], request: RoutingRequest, rates: RateTable, now: datetime
) -> dict[str, Arrival | None]:
    """`arrival` for each of many sites (routing asks it of every candidate of an order with
    a requested delivery date). Sites that share a time zone, cut-off and processing days
    share a dispatch day, and the business-day sums are made once per dispatch day and
    transit."""
    dispatch_days: dict[tuple[str, time | None, int], date] = {}
    delivery_days: dict[tuple[date, int], date] = {}
    point = request.ship_to_point
    km_from = km_to(point) if point is not None else None
    found: dict[str, Arrival | None] = {}
    for site in sites:
        key = (site.timezone, site.cutoff, site.processing_days)
        dispatch = dispatch_days.get(key)
        if dispatch is None:
            dispatch = dispatch_days[key] = ship_date(site, now)
        if request.method is Method.PICKUP:
            found[site.code] = Arrival(dispatch, dispatch, None)
            continue
        quote = select_service(
            rates,
            distance_km=km_from(site.point) if km_from and site.point is not None else None,
            domestic=site.country == request.ship_to_country,
            level=request.service_level,
        )
        if quote is None:
            found[site.code] = None
            continue
        arrives = delivery_days.get((dispatch, quote.transit_days))
        if arrives is None:
            arrives = delivery_days[dispatch, quote.transit_days] = delivery_date(
                dispatch, quote.transit_days
            )
        found[site.code] = Arrival(dispatch, arrives, quote)
    return found


class DispatchCalendar(Protocol):
    """When a location dispatches: a Site, or what an order keeps of the one serving it."""

    @property
    def timezone(self) -> str: ...
    @property
    def cutoff(self) -> time | None: ...
    @property
    def processing_days(self) -> int: ...


def dispatch_deadline(site: DispatchCalendar, now: datetime) -> datetime:
    """The moment an order that is ready at `now` is late for its dispatch: the end of its
    ship date in the location's time zone (as UTC)."""
    zone = ZoneInfo(site.timezone)
    day_after = ship_date(site, now) + timedelta(days=1)
    return datetime.combine(day_after, time(0), tzinfo=zone).astimezone(UTC)


def ship_date(site: DispatchCalendar, now: datetime) -> date:
    """The day the site dispatches an order placed now: today in the site's time zone, or
    the next day from the cutoff on, then processing_days more; dispatch is Monday to Friday.
    A naive `now` is taken as UTC."""
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    local = aware.astimezone(ZoneInfo(site.timezone))
    day = local.date()
    # At the cutoff itself the truck is being loaded: the order misses it.
    if site.cutoff is not None and local.time() >= site.cutoff:
        day += timedelta(days=1)
    return _add_business_days(_next_business_day(day), site.processing_days)


def delivery_date(ship: date, transit_days: int) -> date:
    """The day a parcel dispatched on `ship` arrives: transit_days business days later."""
    return _add_business_days(ship, transit_days)


def _next_business_day(day: date) -> date:
    while day.weekday() >= _SATURDAY:
        day += timedelta(days=1)
    return day


def _add_business_days(day: date, days: int) -> date:
    day = _next_business_day(day)
    for _ in range(days):
        day = _next_business_day(day + timedelta(days=1))
    return day
