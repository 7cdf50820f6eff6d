"""Thin HTTP endpoints of order-capture: validate, build a command, call the bus, render."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.order_capture.adapters import queries
from services.order_capture.api.schemas import OrderCreate, OrderPage, OrderRead
from services.order_capture.domain.errors import OrderNotFound

router = APIRouter(tags=["orders"])


@router.post(
    "/orders",
    status_code=201,
    summary="Place an order",
    responses=problem_responses(409, 422, 503),
)
async def create(
    body: OrderCreate,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> OrderRead:
    """Accept an order from a sales channel; it starts `pending` and moves as stock is reserved."""
    command = body.to_command(
        idempotency_key=idempotency_key, fingerprint=fingerprint(body.model_dump(mode="json"))
    )
    order_id = await bus.handle(command)
    order = await queries.get_order(session, order_id)
    assert order is not None  # committed by the bus just before
    response.headers["Location"] = f"/v1/orders/{order_id}"
    return order


@router.get("/orders/{order_id}", summary="Get an order", responses=problem_responses(404, 503))
async def get(order_id: UUID, session: ReadSessionDep) -> OrderRead:
    """The order with its lines, totals and current status."""
    order = await queries.get_order(session, order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    return order


@router.get("/orders", summary="List orders, newest first", responses=problem_responses(422, 503))
async def list_(
    session: ReadSessionDep,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> OrderPage:
    """Cursor-paginated orders, newest first, optionally filtered by status."""
    return await queries.list_orders(session, status=status, limit=limit, cursor=cursor)
