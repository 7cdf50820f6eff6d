"""Self-service: a customer looks up or cancels their own order. No token: the order number
and the customer's e-mail prove who asks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from libs.http.auth import SelfServiceLimit
from libs.http.deps import BusDep, ReadSessionDep
from libs.http.problems import problem_responses
from services.order_capture.adapters import queries
from services.order_capture.api.schemas.fields import Email
from services.order_capture.api.schemas.orders import OrderNumber
from services.order_capture.api.schemas.self_service import (
    SelfServiceCancel,
    SelfServiceLine,
    SelfServiceOrderRead,
    SelfServiceTracking,
)
from services.order_capture.domain import commands
from services.order_capture.domain.errors import SELF_SERVICE_NOT_FOUND, OrderNotFound

router = APIRouter(tags=["self-service"])


@router.get(
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
    return _read(view)


@router.post(
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
    return _read(view)


def _read(view: queries.SelfServiceView) -> SelfServiceOrderRead:
    return SelfServiceOrderRead(
        order_number=view.order_number,
        status=view.status,
        lines=[SelfServiceLine.model_validate(ln, from_attributes=True) for ln in view.lines],
        tracking=[
            SelfServiceTracking.model_validate(s, from_attributes=True) for s in view.shipments
        ],
    )
