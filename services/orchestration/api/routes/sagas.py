"""Sagas, their routing decisions and their payment calls; holds and their release.

Reads need orders:read, holding and releasing orders:write; a caller narrowed to channels sees
and acts on only those channels' orders (another channel's order is 404, exactly like a
missing one).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.params import Body

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.clock import SystemClock
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.orchestration.adapters import queries
from services.orchestration.api.schemas.sagas import (
    HoldBody,
    HoldPage,
    PaymentMethodBody,
    PaymentOperationList,
    RoutingDecisionList,
    SagaPage,
    SagaRead,
)
from services.orchestration.domain import commands
from services.orchestration.domain.errors import SagaNotFound
from services.orchestration.domain.saga import HoldReason, SagaState

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
    page = await queries.list_sagas(
        session,
        now=SystemClock().now(),
        state=state.value if state else None,
        stuck=stuck,
        limit=limit,
        cursor=cursor,
        channels=caller.channels,
    )
    return SagaPage.model_validate(page, from_attributes=True)


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
    return SagaRead.model_validate(saga, from_attributes=True)


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
    decisions = await queries.routing_decisions(session, order_id, channels=caller.channels)
    return RoutingDecisionList.model_validate({"items": decisions}, from_attributes=True)


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
    operations = await queries.payment_operations(session, order_id, channels=caller.channels)
    return PaymentOperationList.model_validate({"items": operations}, from_attributes=True)


Writer = Annotated[Principal, requires(Scope.ORDERS_WRITE)]
HOLD_ERRORS = problem_responses(404, 409, 422, 503)


async def act(
    order_id: UUID,
    action: commands.OrderAction,
    text: str,
    *,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Principal,
    idempotency_key: str | None,
) -> SagaRead:
    """A person's action on the order (service_layer act_on_order), answered with the saga
    as it then stands. A retry under the same Idempotency-Key answers the same way."""
    await bus.handle(
        commands.ActOnOrder(
            order_id=order_id,
            action=action,
            text=text,
            channels=caller.channels,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint([str(order_id), action.value, text]),
        )
    )
    return await get_saga(order_id, session, caller)


@router.get("/holds", summary="List held orders", responses=problem_responses(422, 503))
async def list_holds(
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.ORDERS_READ)],
    reason: HoldReason | None = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> HoldPage:
    """Every order on hold, oldest first: why, since when, and what would release it."""
    page = await queries.list_holds(
        session,
        reason=reason.value if reason else None,
        channel=channel,
        limit=limit,
        cursor=cursor,
        channels=caller.channels,
    )
    return HoldPage.model_validate(page, from_attributes=True)


@router.post("/orders/{order_id}/hold", summary="Put an order on hold", responses=HOLD_ERRORS)
async def hold(
    order_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    body: Annotated[HoldBody, Body()] = HoldBody(),
    idempotency_key: IdempotencyKeyDep = None,
) -> SagaRead:
    """Stop the order before anything is handed to a location (reason `manual`): its stock is
    released, `order_on_hold` is published and order-capture shows it `on_hold` until it is
    released. 409 `hold_not_possible` when it cannot be held now (`extensions.hold_refused_because`:
    already_on_hold, finished, fulfilment_under_way, or reservation_in_flight with
    Retry-After). With an Idempotency-Key a retry answers like the first call."""
    return await act(
        order_id,
        commands.OrderAction.HOLD,
        body.note,
        bus=bus,
        session=session,
        caller=caller,
        idempotency_key=idempotency_key,
    )


@router.post("/orders/{order_id}/release", summary="Release a held order", responses=HOLD_ERRORS)
async def release(
    order_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    body: Annotated[HoldBody, Body()] = HoldBody(),
    idempotency_key: IdempotencyKeyDep = None,
) -> SagaRead:
    """Take the order off hold, whatever held it: what is not cancelled is routed again from
    where it stands (a declined payment is authorised again once the stock is reserved) and
    `order_hold_released` is published. 409 `not_on_hold` when it is not held. With an
    Idempotency-Key a retry answers like the first call."""
    return await act(
        order_id,
        commands.OrderAction.RELEASE,
        body.note,
        bus=bus,
        session=session,
        caller=caller,
        idempotency_key=idempotency_key,
    )


@router.post(
    "/orders/{order_id}/payment",
    summary="A new payment method for a declined order",
    responses=HOLD_ERRORS,
)
async def new_payment_method(
    order_id: UUID,
    body: PaymentMethodBody,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> SagaRead:
    """For an order held `payment_declined`: the hold is released, the order is reserved
    again and authorised with the new token. 409 `payment_not_needed` for any other order.
    Without a new method within ORCHESTRATION_PAYMENT_RECOVERY_S the order is cancelled
    (`payment_recovery_expired`). With an Idempotency-Key a retry answers like the first call."""
    return await act(
        order_id,
        commands.OrderAction.PAYMENT,
        body.token,
        bus=bus,
        session=session,
        caller=caller,
        idempotency_key=idempotency_key,
    )
