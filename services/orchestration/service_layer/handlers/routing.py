"""Routing a saga inside its own transaction, from orchestration's view of inventory.

A placed order is routed by the transaction that starts its saga, and a saga due for another
plan (inventory refused a reservation, a location rejected its part) by the worker's: the view
is a table of this service, so nothing is asked of anyone while the saga's row is held.

The view lags inventory by an event's trip. A plan made from it that inventory then refuses is
planned again; an order the view cannot serve at all is asked about again every second for
ROUTING_GRACE_S after it was placed, in case what serves it has not arrived in the view yet
(a location created a moment before its first order, stock imported the same second), and then
waits for stock (SagaState.WAITING_FOR_STOCK): the worker plans it again when the view's stock
of one of its SKUs changes, and at least every WAITING_RECHECK_S.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from services.orchestration.domain.routing.engine import route
from services.orchestration.domain.routing.geo import great_circle_km
from services.orchestration.domain.routing.model import (
    Outcome,
    RoutingRequest,
    Site,
)
from services.orchestration.domain.routing.stored import stored_decision
from services.orchestration.domain.saga import (
    ORDER_SAGA,
    ROUTING_DECIDED,
    ROUTING_UNAVAILABLE,
    OrderSaga,
    SagaState,
)
from services.orchestration.service_layer.unit_of_work import UnitOfWork

# How soon an order the view cannot serve is looked at again, while it is in its grace.
RETRY_AFTER = timedelta(seconds=1)


async def route_now(saga: OrderSaga, uow: UnitOfWork, now: datetime) -> None:
    """Plans the saga's unrouted units and applies the plan (or, in the grace period, waits
    for the view when nothing serves). The caller holds the saga and writes it afterwards."""
    if saga.state not in (SagaState.ROUTING, SagaState.WAITING_FOR_STOCK):
        return
    request = routing_request(saga)
    candidates = await uow.routing.candidates(
        [d.sku for d in request.lines], pickup=request.pickup_location
    )
    strategy = await uow.strategy()
    limited = {
        site.code: local_day_start(site, now)
        for site in candidates.sites
        if site.daily_capacity is not None
    }
    sites = candidates.sites
    if limited:
        used = await uow.sagas.fulfillments_created_since(limited)
        sites = [
            replace(site, used_today=used.get(site.code, 0)) if site.code in limited else site
            for site in sites
        ]
    decision = route(request, sites, strategy, await uow.rate_table(), now=now)
    in_grace = saga.state is SagaState.ROUTING and now < saga.started_at + uow.routing_grace
    if decision.outcome is Outcome.UNROUTABLE and in_grace:
        ORDER_SAGA.take(
            saga,
            ROUTING_UNAVAILABLE,
            f"no location can serve it yet ({decision.reason})",
            now + RETRY_AFTER,
            now,
        )
        return
    # Only the chosen locations' legs are recorded with the saga.
    chosen = [s for s in sites if s.code in {part.location_code for part in decision.parts}]
    decision_id = ORDER_SAGA.take(
        saga,
        ROUTING_DECIDED,
        decision,
        now,
        geo=geography(request, chosen),
        calendars={s.code: s for s in chosen},
    )
    if decision_id is None:
        return
    uow.sagas.stage_decision(
        {
            "id": UUID(decision_id),
            "order_id": saga.order_id,
            "round": saga.round,
            "outcome": decision.outcome.value,
            "strategy_version": decision.strategy_version,
            "explanation": decision.explanation,
            "decided_at": now,
            "body": stored_decision(request, decision, candidates.passed_over),
        }
    )


def routing_request(saga: OrderSaga) -> RoutingRequest:
    order = saga.order
    return RoutingRequest(
        lines=order.demands(saga.unrouted),
        method=order.method,
        ship_to_country=order.ship_to.country,
        ship_to_point=order.ship_to.point,
        pickup_location=order.pickup_location,
        service_level=order.service_level,
        channel=order.channel,
        excluded=frozenset(saga.excluded),
        requested_delivery_date=order.requested_delivery_date,
    )


def geography(
    request: RoutingRequest, sites: Sequence[Site]
) -> dict[str, tuple[float | None, bool]]:
    found: dict[str, tuple[float | None, bool]] = {}
    for site in sites:
        km = None
        if site.point is not None and request.ship_to_point is not None:
            km = round(great_circle_km(site.point, request.ship_to_point), 1)
        found[site.code] = (km, site.country == request.ship_to_country)
    return found


def local_day_start(site: Site, now: datetime) -> datetime:
    """Midnight of the location's own calendar day: daily capacity counts from there."""
    zone = ZoneInfo(site.timezone)
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
