"""Fulfilment orders and the actions a warehouse or store system reports on them.

Reads need orders:read, actions fulfillment:write. A caller narrowed to channels or locations
sees and acts on only the fulfilment orders of its channels at its locations: any other is
404, exactly like a missing one, and is looked up that way before anything changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, ReadSessionDep
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.orchestration.adapters import queries
from services.orchestration.adapters.labels import shipping_label
from services.orchestration.adapters.repository import SagaRepository
from services.orchestration.api.schemas.fulfillments import (
    FulfillmentPage,
    FulfillmentRead,
    PickBody,
    RejectBody,
    ShipBody,
)
from services.orchestration.domain.commands import ActOnFulfillment
from services.orchestration.domain.errors import FulfillmentNotFound, LabelNotAvailable
from services.orchestration.domain.fulfillment import Action, Fulfillment, Status

router = APIRouter(prefix="/fulfillments", tags=["fulfillments"])
ACTION_ERRORS = problem_responses(404, 409, 422, 503)
Reader = Annotated[Principal, requires(Scope.ORDERS_READ)]
Actor = Annotated[Principal, requires(Scope.FULFILLMENT_WRITE)]


@router.get("", summary="List fulfilment orders", responses=problem_responses(422, 503))
async def list_fulfillments(
    session: ReadSessionDep,
    caller: Reader,
    location: Annotated[str | None, Query(max_length=64, description="Location code")] = None,
    status: Status | None = None,
    order_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> FulfillmentPage:
    """Oldest first: a location's work queue, e.g. `?location=WH-BER&status=created`."""
    page = await queries.fulfillments(
        session,
        location=location,
        status=status.value if status else None,
        order_id=order_id,
        limit=limit,
        cursor=cursor,
        channels=caller.channels,
        locations=caller.locations,
    )
    return FulfillmentPage.model_validate(page, from_attributes=True)


@router.get(
    "/{fulfillment_id}",
    summary="Get a fulfilment order",
    responses=problem_responses(404, 422, 503),
)
async def get_fulfillment(
    fulfillment_id: UUID, session: ReadSessionDep, caller: Reader
) -> FulfillmentRead:
    return await _read(session, fulfillment_id, caller)


async def _read(
    session: ReadSessionDep, fulfillment_id: UUID, caller: Principal
) -> FulfillmentRead:
    found = await queries.fulfillment(
        session, fulfillment_id, channels=caller.channels, locations=caller.locations
    )
    if found is None:
        raise FulfillmentNotFound(f"no fulfilment order {fulfillment_id}")
    return FulfillmentRead.model_validate(found, from_attributes=True)


async def _act(
    bus: BusDep, session: ReadSessionDep, caller: Principal, cmd: ActOnFulfillment
) -> FulfillmentRead:
    """The handler looks the fulfilment order up narrowed to the caller's channels and
    locations before it locks and changes it."""
    narrowed = replace(cmd, channels=caller.channels, locations=caller.locations)
    done: Fulfillment = await bus.handle(narrowed)
    return await _read(session, done.id, caller)


@router.post("/{fulfillment_id}/accept", summary="Accept", responses=ACTION_ERRORS)
async def accept(
    fulfillment_id: UUID, bus: BusDep, session: ReadSessionDep, caller: Actor
) -> FulfillmentRead:
    """The location will serve it. Repeating an action that took effect changes nothing;
    an action out of turn is 409 action_not_allowed with `allowed_actions`."""
    return await _act(bus, session, caller, ActOnFulfillment(fulfillment_id, Action.ACCEPT))


@router.post("/{fulfillment_id}/reject", summary="Reject", responses=ACTION_ERRORS)
async def reject(
    fulfillment_id: UUID, body: RejectBody, bus: BusDep, session: ReadSessionDep, caller: Actor
) -> FulfillmentRead:
    """The location cannot serve it: its units are released there and re-routed elsewhere,
    never to this location again."""
    cmd = ActOnFulfillment(fulfillment_id, Action.REJECT, reason=body.reason)
    return await _act(bus, session, caller, cmd)


@router.post("/{fulfillment_id}/pick", summary="Report the pick", responses=ACTION_ERRORS)
async def pick(
    fulfillment_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Actor,
    body: PickBody | None = None,
) -> FulfillmentRead:
    """Units found per line; fewer than owed is a short pick, and the missing units are
    re-routed to another location."""
    picked = {ln.line_id: ln.quantity for ln in body.lines} if body and body.lines else None
    cmd = ActOnFulfillment(fulfillment_id, Action.PICK, picked=picked)
    return await _act(bus, session, caller, cmd)


@router.post("/{fulfillment_id}/pack", summary="Report packing", responses=ACTION_ERRORS)
async def pack(
    fulfillment_id: UUID, bus: BusDep, session: ReadSessionDep, caller: Actor
) -> FulfillmentRead:
    return await _act(bus, session, caller, ActOnFulfillment(fulfillment_id, Action.PACK))


@router.post("/{fulfillment_id}/ship", summary="Ship", responses=ACTION_ERRORS)
async def ship(
    fulfillment_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Actor,
    body: ShipBody | None = None,
) -> FulfillmentRead:
    """The parcel left. Without a carrier, the carrier selector picks one by cost and speed
    from the rate table and assigns a tracking number. Stock is committed and the shipped
    units' share of the payment captured."""
    body = body or ShipBody()
    cmd = ActOnFulfillment(
        fulfillment_id,
        Action.SHIP,
        carrier=body.carrier,
        service=body.service,
        tracking_number=body.tracking_number,
        tracking_url=body.tracking_url,
    )
    return await _act(bus, session, caller, cmd)


@router.post(
    "/{fulfillment_id}/ready_for_pickup", summary="Ready for pickup", responses=ACTION_ERRORS
)
async def ready_for_pickup(
    fulfillment_id: UUID, bus: BusDep, session: ReadSessionDep, caller: Actor
) -> FulfillmentRead:
    cmd = ActOnFulfillment(fulfillment_id, Action.READY_FOR_PICKUP)
    return await _act(bus, session, caller, cmd)


@router.post("/{fulfillment_id}/collect", summary="Collected", responses=ACTION_ERRORS)
async def collect(
    fulfillment_id: UUID, bus: BusDep, session: ReadSessionDep, caller: Actor
) -> FulfillmentRead:
    """The customer took the parcel at the store: stock is committed and payment captured."""
    return await _act(bus, session, caller, ActOnFulfillment(fulfillment_id, Action.COLLECT))


@router.post("/{fulfillment_id}/deliver", summary="Delivered", responses=ACTION_ERRORS)
async def deliver(
    fulfillment_id: UUID, bus: BusDep, session: ReadSessionDep, caller: Actor
) -> FulfillmentRead:
    return await _act(bus, session, caller, ActOnFulfillment(fulfillment_id, Action.DELIVER))


@router.get(
    "/{fulfillment_id}/label",
    summary="The shipping label (PDF)",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(404, 409, 422, 503),
    },
)
async def label(fulfillment_id: UUID, session: ReadSessionDep, caller: Reader) -> Response:
    """A 4x6 inch label with carrier, addresses and the tracking number as a barcode; 409
    label_not_available before the fulfilment shipped."""
    repo = SagaRepository(session)
    f = await repo.fulfillment(fulfillment_id, channels=caller.channels, locations=caller.locations)
    if f is None:
        raise FulfillmentNotFound(f"no fulfilment order {fulfillment_id}")
    saga = await repo.get(f.order_id)
    if saga is None or f.shipment is None or f.method != "ship":
        raise LabelNotAvailable(f"fulfilment {fulfillment_id} has not shipped by carrier")
    pdf = shipping_label(f, saga.order)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="label-{fulfillment_id}.pdf"'},
    )
