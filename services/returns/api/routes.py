"""The returns API: the policy, returns and their steps, labels, analytics, self-service."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

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
    OrderNotFound,
    ReturnNotFound,
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

# --- policy --------------------------------------------------------------------------------


async def _policy_read(session: ReadSessionDep, response: Response) -> PolicyRead:
    policy, created_at = await PolicyStore(session).current()
    response.headers["ETag"] = etag_of(policy.version)
    body = policy.to_dict()
    return PolicyRead(**body, version=policy.version, created_at=created_at)


@router.get(
    "/return-policy", summary="The return policy in force", responses=problem_responses(503)
)
async def get_policy(session: ReadSessionDep, response: Response) -> PolicyRead:
    return await _policy_read(session, response)


@router.put(
    "/return-policy",
    summary="Put a new version of the return policy",
    responses=problem_responses(412, 422, 503),
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


async def _read(session: ReadSessionDep, return_id: UUID) -> ReturnRead:
    found = await queries.get_return(session, return_id)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}")
    return queries.return_read(found)


@router.post(
    "/returns",
    status_code=201,
    summary="Open a return",
    responses=problem_responses(404, 409, 413, 422, 503),
)
async def open_return(
    body: ReturnCreate,
    bus: BusDep,
    session: ReadSessionDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> ReturnRead:
    """Checked against what was delivered and not already returned, the window and the
    policy (422 with the reason: `exceeds_returnable`, `outside_return_window`,
    `not_returnable`, `unknown_line`, `return_limit_reached`). Approved at once unless the
    policy wants a review; mail returns get a carrier, a tracking number and a label."""
    cmd = _open_command(body, order_id=body.order_id, idempotency_key=idempotency_key)
    return_id: UUID = await bus.handle(cmd)
    return await _read(session, return_id)


@router.get("/returns", summary="List returns", responses=problem_responses(422, 503))
async def list_returns(
    session: ReadSessionDep,
    order_id: UUID | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ReturnPage:
    """Newest first, e.g. every return of one order (`?order_id=`)."""
    return await queries.list_returns(
        session,
        order_id=order_id,
        status=status.value if status else None,
        limit=limit,
        cursor=cursor,
    )


@router.get("/returns/analytics", summary="Return analytics", responses=problem_responses(503))
async def analytics(session: ReadSessionDep) -> AnalyticsRead:
    """Return rate by reason, SKU and channel (returned units per delivered unit), and the
    average time from the request to the first refund paid."""
    return await queries.analytics(session)


@router.get(
    "/returns/{return_id}", summary="Get a return", responses=problem_responses(404, 422, 503)
)
async def get_return(return_id: UUID, session: ReadSessionDep) -> ReturnRead:
    return await _read(session, return_id)


@router.post("/returns/{return_id}/approve", summary="Approve", responses=ACTION_ERRORS)
async def approve(return_id: UUID, bus: BusDep, session: ReadSessionDep) -> ReturnRead:
    """A return waiting for review goes ahead. Repeating it changes nothing."""
    await bus.handle(commands.ReviewReturn(return_id, approve=True))
    return await _read(session, return_id)


@router.post("/returns/{return_id}/reject", summary="Reject", responses=ACTION_ERRORS)
async def reject(
    return_id: UUID, body: RejectBody, bus: BusDep, session: ReadSessionDep
) -> ReturnRead:
    await bus.handle(commands.ReviewReturn(return_id, approve=False, reason=body.reason))
    return await _read(session, return_id)


@router.post("/returns/{return_id}/drop_off", summary="Dropped off", responses=ACTION_ERRORS)
async def drop_off(return_id: UUID, bus: BusDep, session: ReadSessionDep) -> ReturnRead:
    """The parcel was handed to the carrier (or the goods to the store): in transit."""
    await bus.handle(commands.DropOffReturn(return_id))
    return await _read(session, return_id)


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
    idempotency_key: IdempotencyKeyDep = None,
) -> ReturnRead:
    """Partial receipts are fine; more units than the return still expects is 409
    `exceeds_expected_units`. Resellable units are restocked at that location; damaged or
    defective ones are quarantined or written off, per policy."""
    cmd = commands.ReceiveReturn(
        return_id,
        body.location_code,
        tuple((ln.line_id, ln.quantity, ln.condition) for ln in body.lines),
        idempotency_key=idempotency_key,
        fingerprint=fingerprint(body.model_dump(mode="json")),
    )
    await bus.handle(cmd)
    return await _read(session, return_id)


@router.post(
    "/returns/{return_id}/refunds/retry",
    summary="Ask again for failed refunds",
    responses=ACTION_ERRORS,
)
async def retry_refunds(return_id: UUID, bus: BusDep, session: ReadSessionDep) -> ReturnRead:
    """After a refund failed (see `refunds[].reason`), ask for the money again under a new
    refund id; 409 `action_not_allowed` when no refund failed."""
    await bus.handle(commands.RetryRefunds(return_id))
    return await _read(session, return_id)


@router.get(
    "/returns/{return_id}/label",
    summary="The return label (PDF)",
    response_class=Response,
    responses={**PDF, **problem_responses(404, 409, 422, 503)},
)
async def label(return_id: UUID, session: ReadSessionDep) -> Response:
    """Mail returns only (409 `action_not_allowed` for in-store returns and before approval)."""
    found = await queries.get_return(session, return_id)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}")
    return await _label(session, found)


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
)
async def customer_open(
    body: SelfServiceReturnCreate,
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
    return await _read(session, return_id)


@self_service.get(
    "/self-service/returns",
    summary="Customer: follow the returns of an order",
    responses=problem_responses(404, 422, 503),
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
        session, order_id=order_id, status=None, limit=MAX_LIMIT, cursor=None
    )


@self_service.get(
    "/self-service/returns/{return_id}/label",
    summary="Customer: print the return label (PDF)",
    response_class=Response,
    responses={**PDF, **problem_responses(404, 409, 422, 503)},
)
async def customer_label(
    return_id: UUID,
    session: ReadSessionDep,
    order_number: Annotated[str, Query(min_length=1, max_length=40)],
    email: Annotated[str, Query(min_length=3, max_length=254)],
) -> Response:
    order_id = await OrderProjection(session).customer_order(order_number, email)
    found = await queries.get_return(session, return_id) if order_id else None
    if found is None or found.order_id != order_id:
        raise OrderNotFound(SELF_SERVICE_NOT_FOUND)
    return await _label(session, found)
