"""Delivery promises: when an order would arrive, per service level, before it is placed.

A promise runs the very routing an order would get (same engine, same strategy), so the
promise shown at checkout is the plan the order then follows, and it picks the carrier the
way the ship step does (routing/arrival.py, through select_service), so the promised transit
matches the label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.routing.arrival import arrival
from services.orchestration.domain.routing.engine import route
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
    # Whether it arrives by the requested delivery date; None when no date was asked about.
    meets_requested_date: bool | None = None


def promise(
    lines: tuple[Demand, ...],
    ship_to_country: str,
    ship_to_point: GeoPoint | None,
    sites: Sequence[Site],
    strategy: Strategy,
    rates: RateTable,
    now: datetime,
    service_level: str | None,
    *,
    requested_delivery_date: date | None = None,
) -> list[PromiseOption]:
    """One option per service level (only `service_level` when given, else each level of the
    rate table: standard, express, then the rest) that routing can serve from stock now;
    levels it would backorder or reject are left out rather than promised. With a requested
    delivery date, routing prefers locations that deliver by it, as it would for the order,
    and each option says whether it arrives by then."""
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
            requested_delivery_date=requested_delivery_date,
        )
        decision = route(request, sites, strategy, rates, now=now)
        if decision.outcome is not Outcome.ROUTED:
            continue
        parts = [
            _promised(p, by_code[p.location_code], request, rates, now) for p in decision.parts
        ]
        if any(p is None for p in parts):
            continue  # no carrier offers the level: nothing to promise
        promised = tuple(p for p in parts if p is not None)
        options.append(_option(level, promised, requested_delivery_date))
    return options


def _promised(
    part: Part, site: Site, request: RoutingRequest, rates: RateTable, now: datetime
) -> PromisedPart | None:
    arrives = arrival(site, request, rates, now)
    if arrives is None or arrives.quote is None:
        return None
    return PromisedPart(
        location_code=part.location_code,
        carrier=arrives.quote.carrier,
        service=arrives.quote.service,
        ship_date=arrives.ship_date,
        delivery_date=arrives.delivery_date,
        line_ids=tuple(sorted({a.line_id for a in part.allocations})),
    )


def _option(level: str, parts: tuple[PromisedPart, ...], requested: date | None) -> PromiseOption:
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
        meets_requested_date=None if requested is None else arrives <= requested,
    )
