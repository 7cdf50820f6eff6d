"""The routing strategy and the carrier rate table (both versioned), and delivery promises
before checkout.

Reading the strategy or the rates needs orders:read and changing them admin; a promise is a
query about stock (inventory:read) that belongs to no order, so it is not narrowed.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from libs.auth.scopes import Scope
from libs.clock import SystemClock
from libs.http.auth import requires
from libs.http.deps import BusDep, ReadSessionDep
from libs.http.etag import OptionalIfMatchDep, etag_of, optional_version
from libs.http.problems import problem_responses
from services.orchestration.adapters import carrier_rates, strategies
from services.orchestration.adapters.routing_view import RoutingView
from services.orchestration.api.schemas.routing import (
    PromisedPartRead,
    PromiseOptionRead,
    PromiseRead,
    PromiseRequest,
    RateTableBody,
    RateTableRead,
    StrategyBody,
    StrategyRead,
)
from services.orchestration.domain.commands import PutCarrierRates, PutStrategy
from services.orchestration.domain.promise import promise
from services.orchestration.domain.routing.model import Demand, GeoPoint

router = APIRouter(tags=["routing"])


async def _strategy_read(session: ReadSessionDep, response: Response) -> StrategyRead:
    strategy, created_at = await strategies.current(session)
    response.headers["ETag"] = etag_of(strategy.version)
    return StrategyRead(
        **strategies.to_dict(strategy), version=strategy.version, created_at=created_at
    )


@router.get(
    "/routing/strategy",
    summary="The routing strategy in force",
    responses=problem_responses(503),
    dependencies=[requires(Scope.ORDERS_READ)],
)
async def get_strategy(session: ReadSessionDep, response: Response) -> StrategyRead:
    """Hard filters run first (active, capability, not excluded, destination country, daily
    capacity, stock, and for an order with a requested delivery date the delivery date);
    eligible locations are then scored with these weights."""
    return await _strategy_read(session, response)


@router.put(
    "/routing/strategy",
    summary="Put a new version of the routing strategy",
    responses=problem_responses(412, 422, 503),
    dependencies=[requires(Scope.ADMIN)],
)
async def put_strategy(
    body: StrategyBody,
    bus: BusDep,
    session: ReadSessionDep,
    response: Response,
    if_match: OptionalIfMatchDep = None,
) -> StrategyRead:
    """Every PUT makes a new version; orders routed from then on name it. With If-Match, a
    version that moved on meanwhile is 412."""
    expected = optional_version(if_match)
    await bus.handle(PutStrategy(body=body.model_dump(mode="json"), expected_version=expected))
    return await _strategy_read(session, response)


@router.post(
    "/promises",
    summary="Delivery options before checkout",
    responses=problem_responses(422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def promises(body: PromiseRequest, session: ReadSessionDep) -> PromiseRead:
    """For each service level: where it would ship from, with which carrier service, the
    earliest ship date and the delivery date. Computed by the same routing engine, strategy
    version and view of inventory's stock that route orders; with a requested delivery date,
    each option says whether it arrives by then."""
    lines = tuple(
        Demand(line_id=str(i), sku=ln.sku, quantity=ln.quantity)
        for i, ln in enumerate(body.lines, start=1)
    )
    sites = (await RoutingView(session).candidates([ln.sku for ln in body.lines])).sites
    strategy, _ = await strategies.current(session)
    rates, _, _ = await carrier_rates.current(session)
    point = (
        GeoPoint(body.ship_to.latitude, body.ship_to.longitude)
        if body.ship_to.latitude is not None and body.ship_to.longitude is not None
        else None
    )
    options = promise(
        lines,
        body.ship_to.country,
        point,
        sites,
        strategy,
        rates,
        SystemClock().now(),
        body.service_level,
        requested_delivery_date=body.requested_delivery_date,
    )
    skus = {d.line_id: d.sku for d in lines}
    return PromiseRead(
        strategy_version=strategy.version,
        options=[
            PromiseOptionRead(
                service_level=o.service_level,
                parts=[
                    PromisedPartRead(
                        location_code=p.location_code,
                        carrier=p.carrier,
                        service=p.service,
                        ship_date=p.ship_date,
                        delivery_date=p.delivery_date,
                        skus=[skus[i] for i in p.line_ids],
                    )
                    for p in o.parts
                ],
                earliest_ship_date=o.earliest_ship_date,
                delivery_date=o.delivery_date,
                explanation=o.explanation,
                meets_requested_date=o.meets_requested_date,
            )
            for o in options
        ],
    )


async def _rates_read(session: ReadSessionDep, response: Response) -> RateTableRead:
    table, version, created_at = await carrier_rates.current(session)
    response.headers["ETag"] = etag_of(version)
    return RateTableRead.model_validate(
        {
            **table.to_dict(),
            "levels": list(table.levels()),
            "version": version,
            "created_at": created_at,
        }
    )


@router.get(
    "/carrier-rates",
    summary="The carrier rate table in force",
    responses=problem_responses(503),
    dependencies=[requires(Scope.ORDERS_READ)],
)
async def get_carrier_rates(session: ReadSessionDep, response: Response) -> RateTableRead:
    """Every carrier service with its service level, prices (base, per 100 km, abroad) and
    transit days: what routing prices candidates with, promises quote and shipping chooses
    from."""
    return await _rates_read(session, response)


@router.put(
    "/carrier-rates",
    summary="Put a new version of the carrier rate table",
    responses=problem_responses(412, 422, 503),
    dependencies=[requires(Scope.ADMIN)],
)
async def put_carrier_rates(
    body: RateTableBody,
    bus: BusDep,
    session: ReadSessionDep,
    response: Response,
    if_match: OptionalIfMatchDep = None,
) -> RateTableRead:
    """Every PUT makes a new version, used from then on. A carrier service named twice is
    422 `invalid_rate_table`; with If-Match, a version that moved on meanwhile is 412.
    order-capture accepts only the levels in ORDER_CAPTURE_SERVICE_LEVELS: widen it when a
    new level is offered here."""
    await bus.handle(
        PutCarrierRates(
            body=body.model_dump(mode="json"), expected_version=optional_version(if_match)
        )
    )
    return await _rates_read(session, response)
