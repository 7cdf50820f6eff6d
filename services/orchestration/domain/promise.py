"""Delivery promises: when an order would arrive, per service level, before it is placed.

A promise runs the very routing an order would get (same engine, same strategy), so the
promise shown at checkout is the plan the order then follows, and it picks the carrier the
way the ship step does (select_service), so the promised transit matches the label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from services.orchestration.domain.carriers import RateTable, select_service
from services.orchestration.domain.routing.engine import route
from services.orchestration.domain.routing.geo import great_circle_km
from services.orchestration.domain.routing.model import (
    Demand,
    GeoPoint,
    Method,
    Outcome,
    Part,
    RoutingRequest,
    Site,
    Strategy,
)

_SATURDAY = 5  # date.weekday(): Monday is 0


@dataclass(frozen=True)
class PromisedPart:
    location_code: str
    carrier: str
    service: str
    ship_date: date
    delivery_date: date
    line_ids: tuple[str, ...]


@dataclass(frozen=True)
class PromiseOption:
    service_level: str
    parts: tuple[PromisedPart, ...]
    earliest_ship_date: date  # when the last part leaves: the order ships complete then
    delivery_date: date  # when the last part arrives
    explanation: str


class DispatchCalendar(Protocol):
    """When a location dispatches: a Site, or what an order keeps of the one serving it."""

    @property
    def timezone(self) -> str: ...
    @property
    def cutoff(self) -> time | None: ...
    @property
    def processing_days(self) -> int: ...


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


def dispatch_deadline(site: DispatchCalendar, now: datetime) -> datetime:
    """The moment an order that is ready at `now` is late for its dispatch: the end of its
    ship date in the location's time zone (as UTC)."""
    zone = ZoneInfo(site.timezone)
    day_after = ship_date(site, now) + timedelta(days=1)
    return datetime.combine(day_after, time(0), tzinfo=zone).astimezone(UTC)


def delivery_date(ship: date, transit_days: int) -> date:
    """The day a parcel dispatched on `ship` arrives: transit_days business days later."""
    return _add_business_days(ship, transit_days)


def promise(
    lines: tuple[Demand, ...],
    ship_to_country: str,
    ship_to_point: GeoPoint | None,
    sites: Sequence[Site],
    strategy: Strategy,
    rates: RateTable,
    now: datetime,
    service_level: str | None,
) -> list[PromiseOption]:
    """One option per service level (only `service_level` when given, else each level of the
    rate table: standard, express, then the rest) that routing can serve from stock now;
    levels it would backorder or reject are left out rather than promised."""
    by_code = {s.code: s for s in sites}
    levels = (service_level,) if service_level is not None else rates.levels()
    options = []
    for level in levels:
        request = RoutingRequest(
            lines=lines,
            method=Method.SHIP,
            ship_to_country=ship_to_country,
            ship_to_point=ship_to_point,
            service_level=level,
        )
        decision = route(request, sites, strategy, rates)
        if decision.outcome is not Outcome.ROUTED:
            continue
        parts = [
            _promised(p, by_code[p.location_code], request, rates, now) for p in decision.parts
        ]
        if any(p is None for p in parts):
            continue  # no carrier offers the level: nothing to promise
        promised = tuple(p for p in parts if p is not None)
        options.append(_option(level, promised))
    return options


def _promised(
    part: Part, site: Site, request: RoutingRequest, rates: RateTable, now: datetime
) -> PromisedPart | None:
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
    dispatch = ship_date(site, now)
    return PromisedPart(
        location_code=part.location_code,
        carrier=quote.carrier,
        service=quote.service,
        ship_date=dispatch,
        delivery_date=delivery_date(dispatch, quote.transit_days),
        line_ids=tuple(sorted({a.line_id for a in part.allocations})),
    )


def _option(level: str, parts: tuple[PromisedPart, ...]) -> PromiseOption:
    arrives = max(p.delivery_date for p in parts)
    legs = ", ".join(
        f"{p.location_code} ships {p.ship_date.isoformat()} with {p.carrier} {p.service}, "
        f"arriving {p.delivery_date.isoformat()}"
        for p in parts
    )
    split = f" in {len(parts)} parts" if len(parts) > 1 else ""
    return PromiseOption(
        service_level=level,
        parts=parts,
        earliest_ship_date=max(p.ship_date for p in parts),
        delivery_date=arrives,
        explanation=f"{level.capitalize()} delivery by {arrives.isoformat()}{split}: {legs}.",
    )


def _next_business_day(day: date) -> date:
    while day.weekday() >= _SATURDAY:
        day += timedelta(days=1)
    return day


def _add_business_days(day: date, days: int) -> date:
    day = _next_business_day(day)
    for _ in range(days):
        day = _next_business_day(day + timedelta(days=1))
    return day
