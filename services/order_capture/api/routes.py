"""Thin HTTP endpoints of order-capture: validate, build a command, call the bus, render.

Every /v1 route names its scope; every order route also narrows by the caller's channels
claim in its query, so an order of another channel answers exactly like a missing one (404).
Self-service has no token: the order number and the customer's e-mail prove who asks.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import SelfServiceLimit, requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.etag import IfMatchDep, etag_of, version_from_if_match
from libs.http.fields import Timestamp
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from libs.http.responses import model_response
from services.order_capture.adapters import queries
from services.order_capture.api.schemas import (
    CancelRequest,
    DeliveryIn,
    Email,
    OrderCreate,
    OrderPage,
    OrderPatch,
    OrderRead,
    SelfServiceCancel,
    SelfServiceOrderRead,
    TimelinePage,
)
from services.order_capture.domain import commands
from services.order_capture.domain.errors import (
    SELF_SERVICE_NOT_FOUND,
    ChannelNotAllowed,
    OrderNotFound,
    ServiceLevelUnavailable,
)
from services.order_capture.domain.status import OrderStatus
from services.order_capture.domain.values import Channel, DeliveryMethod
from services.order_capture.service_layer.placing import Placing

router = APIRouter(tags=["orders"])
self_service = APIRouter(tags=["self-service"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
OrderNumber = Annotated[str, Field(min_length=1, max_length=40, examples=["OMS-00001000"])]
CHANNEL_ACTOR = "channel"

Reader = Annotated[Principal, requires(Scope.ORDERS_READ)]
Writer = Annotated[Principal, requires(Scope.ORDERS_WRITE)]


async def _render(
    session: ReadSessionDep, order_id: UUID, response: Response, caller: Principal
) -> OrderRead:
    order = await queries.get_order(session, order_id, channels=caller.channels)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    response.headers["ETag"] = etag_of(order.version)
    return order


async def _visible(session: ReadSessionDep, order_id: UUID, caller: Principal) -> None:
    """404, as for a missing order, unless the caller sees the order: checked before a change
    is attempted. The order's channel never changes, so the check cannot go stale."""
    if not await queries.order_exists(session, order_id, channels=caller.channels):
        raise OrderNotFound(f"no order {order_id}")


def _check_offered(request: Request, delivery: DeliveryIn | None) -> None:
    """A shipped order's service level must be one a carrier serves (SERVICE_LEVELS): 422
    service_level_unavailable otherwise, never a silent downgrade later."""
    if delivery is None or delivery.method is not DeliveryMethod.SHIP:
        return
    offered = [
        level.strip()
        for level in request.app.state.container.settings.SERVICE_LEVELS.split(",")
        if level.strip()
    ]
    if delivery.service_level.value not in offered:
        raise ServiceLevelUnavailable(
            f"no carrier service offers {delivery.service_level.value}; offered: "
            + ", ".join(offered),
            field="delivery.service_level",
            offered=offered,
        )


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderRead,
    summary="Place an order",
    responses=problem_responses(409, 413, 422, 503),
)
async def create(
    body: OrderCreate,
    request: Request,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> Response:
    """Accept an order from a sales channel. Every total is computed here; totals the client
    sends must match them. The order starts `pending` and moves as the other services answer.
    A client narrowed to some channels places orders of those only (403
    `channel_not_allowed`)."""
    # Before the Idempotency-Key is looked at: another channel's client cannot replay a key.
    if not caller.sees_channel(body.channel.value):
        raise ChannelNotAllowed(f"this client may not place orders of channel {body.channel}")
    _check_offered(request, body.delivery)
    command = body.to_command(
        idempotency_key=idempotency_key, fingerprint=fingerprint(body.model_dump(mode="json"))
    )
    placing: Placing = request.app.state.placing
    placed = await placing.place(command)
    if isinstance(placed, UUID):
        # Answered by the general path (a replayed key): the order as stored.
        async with request.app.state.container.session_factory() as session:
            order = await queries.get_order(session, placed, channels=caller.channels)
        if order is None:
            raise OrderNotFound(f"no order {placed}")
    else:
        order = queries.read_of_written(placed.order, placed.lines)
    return model_response(
        order,
        status_code=201,
        headers={"Location": f"/v1/orders/{order.id}", "ETag": etag_of(order.version)},
    )


@router.get(
    "/orders/{order_id}", summary="Get an order", responses=problem_responses(404, 422, 503)
)
async def get(
    order_id: UUID, response: Response, session: ReadSessionDep, caller: Reader
) -> OrderRead:
    """The order with its lines, their quantity buckets, totals, shipments and status. The
    ETag header carries its version for a later PATCH."""
    return await _render(session, order_id, response, caller)


@router.get(
    "/orders/by-number/{order_number}",
    summary="Get an order by its order number",
    responses=problem_responses(404, 422, 503),
)
async def get_by_number(
    order_number: OrderNumber, response: Response, session: ReadSessionDep, caller: Reader
) -> OrderRead:
    """The same as GET /orders/{id}, found by the human order number (e.g. OMS-00001000)."""
    order = await queries.get_order_by_number(session, order_number, channels=caller.channels)
    if order is None:
        raise OrderNotFound(f"no order {order_number}")
    response.headers["ETag"] = etag_of(order.version)
    return order


@router.get("/orders", summary="List orders, newest first", responses=problem_responses(422, 503))
async def list_(
    session: ReadSessionDep,
    caller: Reader,
    status: OrderStatus | None = None,
    channel: Channel | None = None,
    customer_email: Annotated[str | None, Query(max_length=254)] = None,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    created_from: Annotated[
        Timestamp | None, Query(description="Inclusive, RFC 3339 with offset")
    ] = None,
    created_to: Annotated[
        Timestamp | None, Query(description="Exclusive, RFC 3339 with offset")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> OrderPage:
    """Cursor-paginated orders, newest first. Filters combine (AND); the e-mail matches
    case-insensitively, `sku` finds orders with a line of that SKU. Only orders of the
    caller's channels are listed (a `channel` filter on another channel finds none)."""
    return await queries.list_orders(
        session,
        channels=caller.channels,
        limit=limit,
        cursor=cursor,
        status=status.value if status else None,
        channel=channel.value if channel else None,
        customer_email=customer_email,
        sku=sku,
        created_from=created_from,
        created_to=created_to,
    )


@router.get(
    "/orders/{order_id}/timeline",
    summary="The order's timeline",
    responses=problem_responses(404, 422, 503),
)
async def timeline(
    order_id: UUID,
    session: ReadSessionDep,
    caller: Reader,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> TimelinePage:
    """Every status change and business event of the order, oldest first, each with its time,
    the service it came from and the reason."""
    await _visible(session, order_id, caller)
    return await queries.timeline(
        session, order_id, channels=caller.channels, limit=limit, cursor=cursor
    )


@router.patch(
    "/orders/{order_id}",
    summary="Edit an order before it ships",
    responses=problem_responses(404, 409, 412, 413, 422, 428, 503),
)
async def update(
    order_id: UUID,
    body: OrderPatch,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    request: Request,
    if_match: IfMatchDep = None,
) -> OrderRead:
    """Change the shipping address, delivery, customer contact or notes. Needs If-Match with
    the ETag of the version being edited (412 if the order changed since, 428 without it);
    409 `order_not_editable` once anything has shipped. An address or delivery change is
    published (oms.order.updated, replan_required) so unshipped work is planned again."""
    await _visible(session, order_id, caller)
    _check_offered(request, body.delivery)
    await bus.handle(
        commands.EditOrder(
            order_id=order_id,
            expected_version=version_from_if_match(if_match),
            changes=body.to_changes(),
        )
    )
    return await _render(session, order_id, response, caller)


@router.post(
    "/orders/{order_id}/cancel",
    summary="Cancel an order or some of its units",
    responses=problem_responses(404, 409, 413, 422, 503),
)
async def cancel(
    order_id: UUID,
    body: CancelRequest,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> OrderRead:
    """Without `lines`, every unit not yet shipped; with `lines`, just those units. Shipped
    units cannot be cancelled (return them instead). Cancelling a cancelled order again
    changes nothing; send an Idempotency-Key to make a partial cancellation safe to retry."""
    await _visible(session, order_id, caller)
    await bus.handle(
        commands.CancelOrder(
            order_id=order_id,
            reason=body.reason,
            requested_by=CHANNEL_ACTOR,
            quantities=None if body.lines is None else _units_per_line(body),
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint(
                {"order_id": str(order_id), **body.model_dump(mode="json")}
            ),
        )
    )
    return await _render(session, order_id, response, caller)


def _units_per_line(body: CancelRequest) -> dict[UUID, int]:
    """The same line twice in one request counts twice (its quantities add up)."""
    total: dict[UUID, int] = {}
    for line in body.lines or ():
        total[line.line_id] = total.get(line.line_id, 0) + line.quantity
    return total


@self_service.get(
    "/self-service/orders/{order_number}",
    summary="Customer: look up an order",
    responses=problem_responses(404, 422, 503),
    dependencies=[SelfServiceLimit],
)
async def get_order(
    order_number: OrderNumber, email: Annotated[Email, Query()], session: ReadSessionDep
) -> SelfServiceOrderRead:
    """No staff token: the order number and the customer's e-mail prove who asks. A wrong
    e-mail is answered exactly like an unknown order number (404)."""
    view = await queries.self_service_view(session, order_number, email)
    if view is None:
        raise OrderNotFound(SELF_SERVICE_NOT_FOUND)
    return view


@self_service.post(
    "/self-service/orders/{order_number}/cancel",
    summary="Customer: cancel an order that has not shipped",
    responses=problem_responses(404, 409, 413, 422, 503),
    dependencies=[SelfServiceLimit],
)
async def cancel_order(
    order_number: OrderNumber, body: SelfServiceCancel, bus: BusDep, session: ReadSessionDep
) -> SelfServiceOrderRead:
    """Cancels the whole order while nothing has shipped (409 `order_not_cancellable` after).
    Proven by the e-mail in the body; a wrong one is a 404, like an unknown order."""
    await bus.handle(
        commands.CancelOwnOrder(order_number=order_number, email=body.email, reason=body.reason)
    )
    view = await queries.self_service_view(session, order_number, body.email)
    assert view is not None  # just proven by the cancellation
    return view
