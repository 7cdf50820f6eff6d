"""Self-service: no token; the order number and the customer's e-mail prove who asks, rate
limited per address."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from libs.http.auth import SelfServiceLimit
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep
from libs.http.pagination import MAX_LIMIT
from libs.http.problems import problem_responses
from services.returns.adapters import queries
from services.returns.adapters.repository import OrderProjection
from services.returns.api.routes.common import (
    PDF,
    label_pdf,
    open_command,
    return_page,
    return_read,
)
from services.returns.api.schemas.returns import ReturnPage, ReturnRead, SelfServiceReturnCreate
from services.returns.domain.errors import SELF_SERVICE_NOT_FOUND, OrderNotFound, ReturnNotFound
from services.returns.domain.rma import ReturnRequest

router = APIRouter(tags=["self-service"])


@router.post(
    "/self-service/returns",
    status_code=201,
    summary="Customer: open a return",
    responses=problem_responses(404, 409, 413, 422, 503),
    dependencies=[SelfServiceLimit],
)
async def customer_open(
    body: SelfServiceReturnCreate,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> ReturnRead:
    """No staff token: the order number and the customer's e-mail prove who asks. A wrong
    e-mail is answered exactly like an unknown order number (404)."""
    cmd = open_command(
        body,
        order_number=body.order_number,
        email=body.email,
        idempotency_key=idempotency_key,
    )
    return_id: UUID = await bus.handle(cmd)
    response.headers["Location"] = f"/v1/returns/{return_id}"
    return return_read(await _customer_return(session, return_id))


async def _customer_return(session: ReadSessionDep, return_id: UUID) -> ReturnRequest:
    """A return the customer just proved theirs: self-service has no channels claim."""
    found = await queries.get_return(session, return_id, channels=None)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}")
    return found


@router.get(
    "/self-service/returns",
    summary="Customer: follow the returns of an order",
    responses=problem_responses(404, 422, 503),
    dependencies=[SelfServiceLimit],
)
async def customer_list(
    session: ReadSessionDep,
    order_number: Annotated[str, Query(min_length=1, max_length=40)],
    email: Annotated[str, Query(min_length=3, max_length=254)],
) -> ReturnPage:
    order_id = await OrderProjection(session).customer_order(order_number, email)
    if order_id is None:
        raise OrderNotFound(SELF_SERVICE_NOT_FOUND)
    page = await queries.list_returns(
        session, order_id=order_id, status=None, limit=MAX_LIMIT, cursor=None, channels=None
    )
    return return_page(page)


@router.get(
    "/self-service/returns/{return_id}/label",
    summary="Customer: print the return label (PDF)",
    response_class=Response,
    responses={**PDF, **problem_responses(404, 409, 422, 503)},
    dependencies=[SelfServiceLimit],
)
async def customer_label(
    return_id: UUID,
    session: ReadSessionDep,
    order_number: Annotated[str, Query(min_length=1, max_length=40)],
    email: Annotated[str, Query(min_length=3, max_length=254)],
) -> Response:
    order_id = await OrderProjection(session).customer_order(order_number, email)
    found = await queries.get_return(session, return_id, channels=None) if order_id else None
    if found is None or found.order_id != order_id:
        raise OrderNotFound(SELF_SERVICE_NOT_FOUND)
    return await label_pdf(session, found)
