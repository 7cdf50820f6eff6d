"""When an order sent from a site now would reach the customer: the day the site dispatches
it (cut-off and processing days, in the site's time zone), the carrier service the ship step
would choose for the order's service level, and that service's business-day transit.

Delivery promises and routing's delivery-date filter both ask this, so the date a promise
shows, the date routing checks a requested delivery date against and the label's carrier agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.orchestration.domain.carriers import RateTable, select_service
from services.orchestration.domain.routing.geo import great_circle_km
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
    dispatch = ship_date(site, now)
    if request.method is Method.PICKUP:
        return Arrival(dispatch, dispatch, None)
    km = (
        great_circle_km(site.point, request.ship_to_point)
        if site.point is not None and request.ship_to_point is not None
        else None
    )
    quote = select_service(
        rates,
        distance_km=km,
        domestic=site.country == request.ship_to_country,
        level=request.service_level,
    )
    if quote is None:
        return None
    return Arrival(dispatch, delivery_date(dispatch, quote.transit_days), quote)


def ship_date(site: Site, now: datetime) -> date:
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
