"""Returns, staff side: open, list, read, review, receive, retry refunds, print the label.

Every change first looks the return up narrowed to the caller's channels (see common)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.returns.adapters import queries
from services.returns.api.routes.common import (
    ACTION_ERRORS,
    PDF,
    Reader,
    RefundsWriter,
    ReturnsWriter,
    check_visible,
    label_pdf,
    open_command,
    read,
    return_page,
    visible,
)
from services.returns.api.schemas.analytics import AnalyticsRead, RateRead
from services.returns.api.schemas.returns import (
    ReceiveBody,
    RejectBody,
    ReturnCreate,
    ReturnPage,
    ReturnRead,
)
from services.returns.domain import commands
from services.returns.domain.errors import LocationNotAllowed, unknown_order
from services.returns.domain.parts import Status

router = APIRouter(tags=["returns"])


@router.post(
    "/returns",
    status_code=201,
    summary="Open a return",
    responses=problem_responses(404, 409, 413, 422, 503),
)
async def open_return(
    body: ReturnCreate,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: ReturnsWriter,
    idempotency_key: IdempotencyKeyDep = None,
) -> ReturnRead:
    """Checked against what was delivered and not already returned, the window and the
    policy (422 with the reason: `exceeds_returnable`, `outside_return_window`,
    `not_returnable`, `unknown_line`, `return_limit_reached`). Approved at once unless the
    policy wants a review; mail returns get a carrier, a tracking number and a label. An
    order of a channel the token does not see is 404 `order_not_found`, like an unknown one."""
    if caller.channels is not None:
        if not await queries.order_is_visible(session, body.order_id, caller.channels):
            raise unknown_order(body.order_id)
        await session.rollback()
    cmd = open_command(body, order_id=body.order_id, idempotency_key=idempotency_key)
    return_id: UUID = await bus.handle(cmd)
    response.headers["Location"] = f"/v1/returns/{return_id}"
    return await read(session, return_id, caller)


@router.get("/returns", summary="List returns", responses=problem_responses(422, 503))
async def list_returns(
    session: ReadSessionDep,
    caller: Reader,
    order_id: UUID | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ReturnPage:
    """Newest first, e.g. every return of one order (`?order_id=`); only the returns of the
    token's channels."""
    page = await queries.list_returns(
        session,
        order_id=order_id,
        status=status.value if status else None,
        limit=limit,
        cursor=cursor,
        channels=caller.channels,
    )
    return return_page(page)


@router.get("/returns/analytics", summary="Return analytics", responses=problem_responses(503))
async def analytics(session: ReadSessionDep, caller: Reader) -> AnalyticsRead:
    """Return rate by reason, SKU and channel (returned units per delivered unit), and the
    average time from the request to the first refund paid; over the token's channels."""
    found = await queries.analytics(session, channels=caller.channels)
    return AnalyticsRead(
        returns=found.returns,
        returned_units=found.returned_units,
        delivered_units=found.delivered_units,
        by_reason=_rates(found.by_reason),
        by_sku=_rates(found.by_sku),
        by_channel=_rates(found.by_channel),
        average_hours_to_refund=found.average_hours_to_refund,
    )


def _rates(rates: list[queries.Rate]) -> list[RateRead]:
    return [
        RateRead(
            key=r.key,
            returned_units=r.returned_units,
            delivered_units=r.delivered_units,
            rate=r.rate,
        )
        for r in rates
    ]


@router.get(
    "/returns/{return_id}", summary="Get a return", responses=problem_responses(404, 422, 503)
)
async def get_return(return_id: UUID, session: ReadSessionDep, caller: Reader) -> ReturnRead:
    return await read(session, return_id, caller)


@router.post("/returns/{return_id}/approve", summary="Approve", responses=ACTION_ERRORS)
async def approve(
    return_id: UUID, bus: BusDep, session: ReadSessionDep, caller: ReturnsWriter
) -> ReturnRead:
    """A return waiting for review goes ahead. Repeating it changes nothing."""
    await check_visible(session, return_id, caller)
    await bus.handle(commands.ReviewReturn(return_id, approve=True))
    return await read(session, return_id, caller)


@router.post("/returns/{return_id}/reject", summary="Reject", responses=ACTION_ERRORS)
async def reject(
    return_id: UUID, body: RejectBody, bus: BusDep, session: ReadSessionDep, caller: ReturnsWriter
) -> ReturnRead:
    await check_visible(session, return_id, caller)
    await bus.handle(commands.ReviewReturn(return_id, approve=False, reason=body.reason))
    return await read(session, return_id, caller)


@router.post("/returns/{return_id}/drop_off", summary="Dropped off", responses=ACTION_ERRORS)
async def drop_off(
    return_id: UUID, bus: BusDep, session: ReadSessionDep, caller: ReturnsWriter
) -> ReturnRead:
    """The parcel was handed to the carrier (or the goods to the store): in transit."""
    await check_visible(session, return_id, caller)
    await bus.handle(commands.DropOffReturn(return_id))
    return await read(session, return_id, caller)


@router.post(
    "/returns/{return_id}/receive",
    summary="Receive and inspect returned units",
    responses=problem_responses(404, 409, 413, 422, 503),
)
async def receive(
    return_id: UUID,
    body: ReceiveBody,
    bus: BusDep,
    session: ReadSessionDep,
    caller: ReturnsWriter,
    idempotency_key: IdempotencyKeyDep = None,
) -> ReturnRead:
    """Partial receipts are fine; more units than the return still expects is 409
    `exceeds_expected_units`. Resellable units are restocked at that location; damaged or
    defective ones are quarantined or written off, per policy. A token narrowed to locations
    receives only at those (403 `location_not_allowed`)."""
    await check_visible(session, return_id, caller)
    if not caller.sees_location(body.location_code):
        raise LocationNotAllowed(f"this token may not receive at {body.location_code}")
    cmd = commands.ReceiveReturn(
        return_id,
        body.location_code,
        tuple((ln.line_id, ln.quantity, ln.condition) for ln in body.lines),
        idempotency_key=idempotency_key,
        fingerprint=fingerprint(body.model_dump(mode="json")),
    )
    await bus.handle(cmd)
    return await read(session, return_id, caller)


@router.post(
    "/returns/{return_id}/refunds/retry",
    summary="Ask again for failed refunds",
    responses=ACTION_ERRORS,
)
async def retry_refunds(
    return_id: UUID, bus: BusDep, session: ReadSessionDep, caller: RefundsWriter
) -> ReturnRead:
    """After a refund failed (see `refunds[].reason`), ask for the money again under a new
    refund id; 409 `action_not_allowed` when no refund failed."""
    await check_visible(session, return_id, caller)
    await bus.handle(commands.RetryRefunds(return_id))
    return await read(session, return_id, caller)


@router.get(
    "/returns/{return_id}/label",
    summary="The return label (PDF)",
    response_class=Response,
    responses={**PDF, **problem_responses(404, 409, 422, 503)},
)
async def label(return_id: UUID, session: ReadSessionDep, caller: Reader) -> Response:
    """Mail returns only (409 `action_not_allowed` for in-store returns and before approval)."""
    return await label_pdf(session, await visible(session, return_id, caller))
