"""The returns API: the policy, returns and their steps, labels, analytics, self-service.

A return belongs to its order's channel: a caller narrowed to channels reads, lists, counts
and changes only the returns of those channels' orders (looked up narrowed in SQL before any
change), and gets any other return answered exactly like a missing one. Self-service has no
token: the order number and the customer's e-mail prove who asks, rate limited per address.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import SelfServiceLimit, requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.etag import IfMatchDep, etag_of, optional_version
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from libs.labels import LabelContent, render_label
from services.returns.adapters import queries
from services.returns.adapters.repository import OrderProjection, PolicyStore
from services.returns.api.schemas import (
    AnalyticsRead,
    PolicyBody,
    PolicyRead,
    ReceiveBody,
    RejectBody,
    ReturnCreate,
    ReturnPage,
    ReturnRead,
    SelfServiceReturnCreate,
    _ReturnFields,
)
from services.returns.domain import commands
from services.returns.domain.errors import (
    SELF_SERVICE_NOT_FOUND,
    ActionNotAllowed,
    LocationNotAllowed,
    OrderNotFound,
    ReturnNotFound,
    unknown_order,
)
from services.returns.domain.opening import WantedLine
from services.returns.domain.parts import Resolution, Status
from services.returns.domain.policy import ReturnPolicy
from services.returns.domain.rma import ReturnRequest

router = APIRouter(tags=["returns"])
self_service = APIRouter(tags=["self-service"])
ACTION_ERRORS = problem_responses(404, 409, 422, 503)
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
}

Reader = Annotated[Principal, requires(Scope.ORDERS_READ)]
ReturnsWriter = Annotated[Principal, requires(Scope.RETURNS_WRITE)]
RefundsWriter = Annotated[Principal, requires(Scope.REFUNDS_WRITE)]

# --- policy --------------------------------------------------------------------------------


async def _policy_read(session: ReadSessionDep, response: Response) -> PolicyRead:
    policy, created_at = await PolicyStore(session).current()
    response.headers["ETag"] = etag_of(policy.version)
    body = policy.to_dict()
    return PolicyRead(**body, version=policy.version, created_at=created_at)


@router.get(
    "/return-policy",
    summary="The return policy in force",
    responses=problem_responses(503),
    dependencies=[requires(Scope.ORDERS_READ)],
)
async def get_policy(session: ReadSessionDep, response: Response) -> PolicyRead:
    return await _policy_read(session, response)


@router.put(
    "/return-policy",
    summary="Put a new version of the return policy",
    responses=problem_responses(412, 422, 503),
    dependencies=[requires(Scope.ADMIN)],
)
async def put_policy(
    body: PolicyBody,
    bus: BusDep,
    session: ReadSessionDep,
    response: Response,
    if_match: IfMatchDep = None,
) -> PolicyRead:
    """Every PUT makes a new version; returns opened from then on are judged by it (and
    keep its version). With If-Match, a version that moved on meanwhile is 412."""
    policy = ReturnPolicy.from_dict(body.model_dump(mode="json"), version=0)
    await bus.handle(commands.PutPolicy(policy, optional_version(if_match)))
    return await _policy_read(session, response)


# --- returns -------------------------------------------------------------------------------


def _open_command(body: _ReturnFields, **who: Any) -> commands.OpenReturn:
    res = body.resolution
    return commands.OpenReturn(
        lines=tuple(
            WantedLine(ln.line_id, ln.quantity, ln.reason, ln.comment) for ln in body.lines
        ),
        method=body.method,
        resolution=Resolution(res.type, res.replacement_sku, res.replacement_unit_price),
        location_code=body.location_code,
        fingerprint=fingerprint(body.model_dump(mode="json")),
        **who,
    )


async def _visible(session: ReadSessionDep, return_id: UUID, caller: Principal) -> ReturnRequest:
    """The return, looked up narrowed to the caller's channels: another channel's return is
    answered exactly like a missing one."""
    found = await queries.get_return(session, return_id, channels=caller.channels)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}")
    return found


async def _check_visible(session: ReadSessionDep, return_id: UUID, caller: Principal) -> None:
    """Before a change: 404 unless the caller sees the return. A return never changes its
    order, nor an order its channel, so the check holds for the change that follows; the read
    transaction ends here, not to hold a second connection while the change runs."""
    await _visible(session, return_id, caller)
    await session.rollback()


async def _read(session: ReadSessionDep, return_id: UUID, caller: Principal) -> ReturnRead:
    return queries.return_read(await _visible(session, return_id, caller))


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
    cmd = _open_command(body, order_id=body.order_id, idempotency_key=idempotency_key)
    return_id: UUID = await bus.handle(cmd)
    response.headers["Location"] = f"/v1/returns/{return_id}"
    return await _read(session, return_id, caller)


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
    return await queries.list_returns(
        session,
        order_id=order_id,
        status=status.value if status else None,
        limit=limit,
        cursor=cursor,
        channels=caller.channels,
    )


@router.get("/returns/analytics", summary="Return analytics", responses=problem_responses(503))
async def analytics(session: ReadSessionDep, caller: Reader) -> AnalyticsRead:
    """Return rate by reason, SKU and channel (returned units per delivered unit), and the
    average time from the request to the first refund paid; over the token's channels."""
    return await queries.analytics(session, channels=caller.channels)


@router.get(
    "/returns/{return_id}", summary="Get a return", responses=problem_responses(404, 422, 503)
)
async def get_return(return_id: UUID, session: ReadSessionDep, caller: Reader) -> ReturnRead:
    return await _read(session, return_id, caller)


@router.post("/returns/{return_id}/approve", summary="Approve", responses=ACTION_ERRORS)
async def approve(
    return_id: UUID, bus: BusDep, session: ReadSessionDep, caller: ReturnsWriter
) -> ReturnRead:
    """A return waiting for review goes ahead. Repeating it changes nothing."""
    await _check_visible(session, return_id, caller)
    await bus.handle(commands.ReviewReturn(return_id, approve=True))
    return await _read(session, return_id, caller)


@router.post("/returns/{return_id}/reject", summary="Reject", responses=ACTION_ERRORS)
async def reject(
    return_id: UUID, body: RejectBody, bus: BusDep, session: ReadSessionDep, caller: ReturnsWriter
) -> ReturnRead:
    await _check_visible(session, return_id, caller)
    await bus.handle(commands.ReviewReturn(return_id, approve=False, reason=body.reason))
    return await _read(session, return_id, caller)


@router.post("/returns/{return_id}/drop_off", summary="Dropped off", responses=ACTION_ERRORS)
async def drop_off(
    return_id: UUID, bus: BusDep, session: ReadSessionDep, caller: ReturnsWriter
) -> ReturnRead:
    """The parcel was handed to the carrier (or the goods to the store): in transit."""
    await _check_visible(session, return_id, caller)
    await bus.handle(commands.DropOffReturn(return_id))
    return await _read(session, return_id, caller)


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
    await _check_visible(session, return_id, caller)
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
    return await _read(session, return_id, caller)


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
    await _check_visible(session, return_id, caller)
    await bus.handle(commands.RetryRefunds(return_id))
    return await _read(session, return_id, caller)


@router.get(
    "/returns/{return_id}/label",
    summary="The return label (PDF)",
    response_class=Response,
    responses={**PDF, **problem_responses(404, 409, 422, 503)},
)
async def label(return_id: UUID, session: ReadSessionDep, caller: Reader) -> Response:
    """Mail returns only (409 `action_not_allowed` for in-store returns and before approval)."""
    return await _label(session, await _visible(session, return_id, caller))


async def _label(session: ReadSessionDep, r: ReturnRequest) -> Response:
    if r.label is None:
        raise ActionNotAllowed(f"return {r.rma_number} has no mail label")
    sender = await queries.sender_of(session, r.order_id)
    pdf = render_label(
        LabelContent(
            carrier=r.label.carrier,
            service=r.label.service,
            tracking_number=r.label.tracking_number,
            from_lines=sender,
            to_lines=("Returns centre", f"RMA {r.rma_number}"),
            title=f"RETURN {r.label.carrier.upper()}",
            reference_lines=(
                f"RMA {r.rma_number}",
                f"Postage paid by the {r.label.paid_by.value}",
            ),
        )
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="return-{r.rma_number}.pdf"'},
    )


# --- self-service --------------------------------------------------------------------------


@self_service.post(
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
    cmd = _open_command(
        body,
        order_number=body.order_number,
        email=body.email,
        idempotency_key=idempotency_key,
    )
    return_id: UUID = await bus.handle(cmd)
    response.headers["Location"] = f"/v1/returns/{return_id}"
    return queries.return_read(await _customer_return(session, return_id))


async def _customer_return(session: ReadSessionDep, return_id: UUID) -> ReturnRequest:
    """A return the customer just proved theirs: self-service has no channels claim."""
    found = await queries.get_return(session, return_id, channels=None)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}")
    return found


@self_service.get(
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
    return await queries.list_returns(
        session, order_id=order_id, status=None, limit=MAX_LIMIT, cursor=None, channels=None
    )


@self_service.get(
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
    return await _label(session, found)
