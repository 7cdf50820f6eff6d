"""Sagas, their routing decisions and their payment calls: read-only views.

All need orders:read; a caller narrowed to channels sees only those channels' orders (another
channel's order is 404, exactly like a missing one).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.clock import SystemClock
from libs.http.auth import requires
from libs.http.deps import ReadSessionDep
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.orchestration.adapters import queries
from services.orchestration.api.schemas.sagas import (
    PaymentOperationList,
    RoutingDecisionList,
    SagaPage,
    SagaRead,
)
from services.orchestration.domain.errors import SagaNotFound
from services.orchestration.domain.saga import SagaState

router = APIRouter(tags=["sagas"])


@router.get("/sagas", summary="List sagas", responses=problem_responses(422, 503))
async def list_sagas(
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.ORDERS_READ)],
    state: SagaState | None = None,
    stuck: Annotated[
        bool | None, Query(description="true: only those waiting longer than allowed")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> SagaPage:
    """Newest first; `stuck=true` lists the sagas whose step waits longer than it may."""
    return await queries.list_sagas(
        session,
        now=SystemClock().now(),
        state=state.value if state else None,
        stuck=stuck,
        limit=limit,
        cursor=cursor,
        channels=caller.channels,
    )


@router.get(
    "/sagas/{order_id}", summary="The saga of one order", responses=problem_responses(404, 422, 503)
)
async def get_saga(
    order_id: UUID,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.ORDERS_READ)],
) -> SagaRead:
    """The order's saga state, its money, and every step it took with times."""
    saga = await queries.saga_of(session, order_id, SystemClock().now(), channels=caller.channels)
    if saga is None:
        raise SagaNotFound(f"no saga for order {order_id}")
    return saga


@router.get(
    "/orders/{order_id}/routing-decisions",
    summary="Why the order goes where it goes",
    responses=problem_responses(404, 422, 503),
)
async def routing_decisions(
    order_id: UUID,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.ORDERS_READ)],
) -> RoutingDecisionList:
    """Every routing decision for the order, first plan first: each candidate location with
    each filter's verdict and each score component (value, weight, contribution, total), the
    chosen plan, the strategy version and a one-sentence explanation."""
    if not await queries.saga_exists(session, order_id, channels=caller.channels):
        raise SagaNotFound(f"no saga for order {order_id}")
    return await queries.routing_decisions(session, order_id, channels=caller.channels)


@router.get(
    "/orders/{order_id}/payments",
    summary="The payment calls made for the order",
    responses=problem_responses(404, 422, 503),
)
async def payments(
    order_id: UUID,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.ORDERS_READ)],
) -> PaymentOperationList:
    """Authorisation, captures, voids and refunds with their outcome and attempts."""
    if not await queries.saga_exists(session, order_id, channels=caller.channels):
        raise SagaNotFound(f"no saga for order {order_id}")
    return await queries.payment_operations(session, order_id, channels=caller.channels)
