"""Reservations: hold stock for an order, all lines or none; confirm, release, commit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint, get_container
from libs.http.pagination import DEFAULT_LIMIT
from libs.http.problems import problem_responses
from libs.http.responses import model_response
from services.inventory.adapters import queries
from services.inventory.api.routes.common import Limit
from services.inventory.api.schemas.reservations import (
    CommitRequest,
    ReleaseRequest,
    ReservationCreate,
    ReservationPage,
    ReservationRead,
)
from services.inventory.domain import commands
from services.inventory.domain.errors import InsufficientStock, ReservationNotFound
from services.inventory.domain.reservation import Reservation, ReservationStatus

router = APIRouter(tags=["reservations"])


async def _render(session: ReadSessionDep, reservation_id: UUID) -> ReservationRead:
    found = await queries.get_reservation(session, reservation_id)
    if found is None:
        raise ReservationNotFound(f"no reservation {reservation_id}")
    return ReservationRead.model_validate(found, from_attributes=True)


def _body_hash(reservation_id: UUID | None, body: Any) -> str:
    return fingerprint([str(reservation_id), body.model_dump(mode="json")])


@router.post(
    "/reservations",
    status_code=201,
    response_model=ReservationRead,
    summary="Reserve stock for an order",
    responses=problem_responses(409, 413, 422, 503),
    dependencies=[requires(Scope.INVENTORY_RESERVE)],
)
async def create(
    body: ReservationCreate,
    request: Request,
    bus: BusDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> Response:
    """Hold every line or none. 409 `insufficient_stock` lists each short line with what was
    available; nothing is held then. The outcome is also announced on oms.inventory.events."""
    made = await bus.handle(
        commands.ReserveStock(
            order_id=body.order_id,
            requests=tuple(ln.to_request() for ln in body.lines),
            allow_backorder=body.allow_backorder,
            expires_at=body.expires_at,
            priority=body.priority,
            ordered_at=body.ordered_at,
            idempotency_key=idempotency_key,
            fingerprint=_body_hash(None, body),
            from_api=True,
        )
    )
    # A reservation made now is answered as it was written; a repeated request's is read.
    # Rendered here, not by FastAPI: validating the returned model again cost as much as
    # writing it (a hot SKU's reservations are this endpoint flat out).
    if isinstance(made, Reservation):
        found = ReservationRead.of(made)
    else:
        async with get_container(request).session_factory() as session:
            found = await _render(session, made)
    if found.status is ReservationStatus.REJECTED:
        short = [ln for ln in found.lines if ln.available_at_request is not None]
        raise InsufficientStock(
            "not enough stock for " + ", ".join(ln.sku for ln in short),
            reservation_id=str(found.id),
            lines=[
                {
                    "sku": ln.sku,
                    "requested": ln.quantity,
                    "available": ln.available_at_request,
                    "location_code": ln.location_code,
                }
                for ln in short
            ],
        )
    return model_response(
        found, status_code=201, headers={"Location": f"/v1/reservations/{found.id}"}
    )


@router.get(
    "/reservations",
    summary="List reservations",
    responses=problem_responses(422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def list_(
    session: ReadSessionDep,
    order_id: UUID | None = None,
    status: ReservationStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ReservationPage:
    """Reservations newest first, e.g. every reservation of one order (`?order_id=`)."""
    found = await queries.list_reservations(
        session,
        limit=limit,
        cursor=cursor,
        order_id=order_id,
        status=status.value if status else None,
    )
    return ReservationPage.model_validate(found, from_attributes=True)


@router.get(
    "/reservations/{reservation_id}",
    summary="Get a reservation",
    responses=problem_responses(404, 422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def get(reservation_id: UUID, session: ReadSessionDep) -> ReservationRead:
    """The reservation with each line's held, backordered, committed and released units."""
    return await _render(session, reservation_id)


@router.post(
    "/reservations/{reservation_id}/confirm",
    summary="Make a temporary hold firm",
    responses=problem_responses(404, 409, 422, 503),
    dependencies=[requires(Scope.INVENTORY_RESERVE)],
)
async def confirm(reservation_id: UUID, bus: BusDep, session: ReadSessionDep) -> ReservationRead:
    """A hold made with `expires_at` no longer expires. 409 `reservation_not_temporary` if it
    was released, committed or rejected meanwhile."""
    await bus.handle(commands.ConfirmReservation(reservation_id=reservation_id))
    return await _render(session, reservation_id)


@router.post(
    "/reservations/{reservation_id}/release",
    summary="Release a reservation, whole or in part",
    responses=problem_responses(404, 413, 422, 503),
    dependencies=[requires(Scope.INVENTORY_RESERVE)],
)
async def release(
    reservation_id: UUID,
    body: ReleaseRequest,
    bus: BusDep,
    session: ReadSessionDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> ReservationRead:
    """Give open units back (backordered ones first). Releasing more than is open releases
    what is open; send an Idempotency-Key to make a partial release safe to retry."""
    await bus.handle(
        commands.ReleaseReservation(
            reservation_id=reservation_id,
            picks=tuple(p.to_pick() for p in body.lines) if body.lines else None,
            idempotency_key=idempotency_key,
            fingerprint=_body_hash(reservation_id, body),
        )
    )
    return await _render(session, reservation_id)


@router.post(
    "/reservations/{reservation_id}/commit",
    summary="Commit reserved stock on shipment",
    responses=problem_responses(404, 409, 413, 422, 503),
    dependencies=[requires(Scope.INVENTORY_RESERVE)],
)
async def commit(
    reservation_id: UUID,
    body: CommitRequest,
    bus: BusDep,
    session: ReadSessionDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> ReservationRead:
    """Held units left the building: on hand and reserved both drop. 409
    `commit_exceeds_held` if more is named than is held."""
    await bus.handle(
        commands.CommitReservation(
            reservation_id=reservation_id,
            picks=tuple(p.to_pick() for p in body.lines) if body.lines else None,
            shipment_id=body.shipment_id,
            idempotency_key=idempotency_key,
            fingerprint=_body_hash(reservation_id, body),
        )
    )
    return await _render(session, reservation_id)
