"""Incoming stock: deliveries expected at a location, received or cancelled."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.pagination import DEFAULT_LIMIT
from libs.http.problems import problem_responses
from services.inventory.adapters import queries
from services.inventory.api.routes.common import Limit
from services.inventory.api.schemas.inbound import (
    InboundCreate,
    InboundPage,
    InboundRead,
    InboundReceive,
    InboundReschedule,
)
from services.inventory.domain import commands
from services.inventory.domain.errors import InboundNotFound
from services.inventory.domain.inbound import InboundStatus

router = APIRouter(tags=["inbound"])


async def _render(session: ReadSessionDep, inbound_id: UUID) -> InboundRead:
    found = await queries.get_inbound(session, inbound_id)
    if found is None:
        raise InboundNotFound(f"no inbound delivery {inbound_id}")
    return InboundRead.model_validate(found, from_attributes=True)


@router.post(
    "/inbound",
    status_code=201,
    summary="Announce incoming stock",
    responses=problem_responses(404, 413, 422, 503),
)
async def create(
    body: InboundCreate,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.INVENTORY_ADJUST)],
    idempotency_key: IdempotencyKeyDep = None,
) -> InboundRead:
    """Units expected at a location on a date (a purchase order or transfer). They show in
    availability as incoming, and backorders may be promised against them. 404 for a
    location that does not exist or that the token's `locations` claim leaves out."""
    inbound_id = await bus.handle(
        commands.CreateInbound(
            location_code=body.location_code,
            sku=body.sku,
            quantity=body.quantity,
            expected_at=body.expected_at,
            reference=body.reference,
            caller_locations=caller.locations,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint(body.model_dump(mode="json")),
        )
    )
    response.headers["Location"] = f"/v1/inbound/{inbound_id}"
    return await _render(session, inbound_id)


@router.get(
    "/inbound",
    summary="List incoming stock",
    responses=problem_responses(422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def list_(
    session: ReadSessionDep,
    sku: str | None = None,
    location_code: str | None = None,
    status: InboundStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> InboundPage:
    """Deliveries soonest first, cursor-paginated."""
    found = await queries.list_inbound(
        session,
        limit=limit,
        cursor=cursor,
        sku=sku,
        location_code=location_code,
        status=status.value if status else None,
    )
    return InboundPage.model_validate(found, from_attributes=True)


@router.get(
    "/inbound/{inbound_id}",
    summary="Get an inbound delivery",
    responses=problem_responses(404, 422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def get(inbound_id: UUID, session: ReadSessionDep) -> InboundRead:
    """The delivery with what is received, cancelled and still expected."""
    return await _render(session, inbound_id)


@router.post(
    "/inbound/{inbound_id}/receive",
    summary="Receive incoming stock (all or part)",
    responses=problem_responses(404, 409, 413, 422, 503),
)
async def receive(
    inbound_id: UUID,
    body: InboundReceive,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.INVENTORY_ADJUST)],
    idempotency_key: IdempotencyKeyDep = None,
) -> InboundRead:
    """The units go on hand through the ledger, to waiting backorders first (oldest order
    first). 409 `receive_exceeds_expected` for more than is still expected. Send an
    Idempotency-Key to make a partial receipt safe to retry. 404 for a delivery to a location
    the token's `locations` claim leaves out."""
    await bus.handle(
        commands.ReceiveInbound(
            inbound_id=inbound_id,
            quantity=body.quantity,
            caller_locations=caller.locations,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint([str(inbound_id), body.model_dump(mode="json")]),
        )
    )
    return await _render(session, inbound_id)


@router.post(
    "/inbound/{inbound_id}/reschedule",
    summary="Expect the rest at a new time",
    responses=problem_responses(404, 409, 422, 503),
)
async def reschedule(
    inbound_id: UUID,
    body: InboundReschedule,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.INVENTORY_ADJUST)],
) -> InboundRead:
    """The supplier's new date for what is still expected. The backorders waiting at the
    location are promised again from it (`backorder_repromised`; orchestration tells the
    orders that now wait longer with `order_delayed`). Repeating it changes nothing; 409
    `inbound_closed` for a delivery received or cancelled in full; 404 for a delivery to a
    location the token's `locations` claim leaves out."""
    await bus.handle(
        commands.RescheduleInbound(
            inbound_id=inbound_id, expected_at=body.expected_at, caller_locations=caller.locations
        )
    )
    return await _render(session, inbound_id)


@router.post(
    "/inbound/{inbound_id}/cancel",
    summary="Cancel what is still expected",
    responses=problem_responses(404, 409, 422, 503),
)
async def cancel(
    inbound_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.INVENTORY_ADJUST)],
) -> InboundRead:
    """The rest of the delivery will not come; repeating it changes nothing. 404 for a
    delivery to a location the token's `locations` claim leaves out."""
    await bus.handle(
        commands.CancelInbound(inbound_id=inbound_id, caller_locations=caller.locations)
    )
    return await _render(session, inbound_id)
