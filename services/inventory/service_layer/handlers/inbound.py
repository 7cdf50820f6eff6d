"""Incoming stock: announce a delivery, receive it (in parts), or cancel what will not come."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from libs.ids import new_id
from services.inventory.domain import backorders, commands, events
from services.inventory.domain.errors import InboundNotFound
from services.inventory.domain.inbound import Inbound
from services.inventory.domain.stock import Movement, Reason
from services.inventory.service_layer.handlers.common import existing_location, replayed
from services.inventory.service_layer.unit_of_work import UnitOfWork

SCOPE_CREATE = "inbound-create"
SCOPE_RECEIVE = "inbound-receive"


async def create_inbound(cmd: commands.CreateInbound, uow: UnitOfWork) -> UUID:
    """Expect units at a location on a date; backorders may be promised against them."""
    # The location first: a replay must not show a caller a delivery outside its claim.
    await existing_location(uow, cmd.location_code, within=cmd.caller_locations)
    if (prior := await replayed(uow, SCOPE_CREATE, cmd)) is not None:
        return UUID(prior)
    now = uow.clock.now()
    # The stock row exists from now on: backorders against this delivery lock it.
    await uow.stock.lock_or_create([(cmd.location_code, cmd.sku)], now=now)
    item = Inbound(
        id=new_id(),
        location_code=cmd.location_code,
        sku=cmd.sku,
        quantity=cmd.quantity,
        expected_at=cmd.expected_at,
        reference=cmd.reference,
        created_at=now,
        updated_at=now,
    )
    await uow.inbound.add(item)
    await _announce_incoming(uow, item, reason="inbound_created")
    await uow.idempotency.complete(resource_id=str(item.id), status=201)
    return item.id


async def receive_inbound(cmd: commands.ReceiveInbound, uow: UnitOfWork) -> UUID:
    """Units arrived: they go on hand (and to waiting backorders first) through the ledger."""
    # The delivery first: one outside the caller's claim is not found, replayed or not.
    item = await _locked(uow, cmd.inbound_id, cmd.caller_locations)
    if (prior := await replayed(uow, SCOPE_RECEIVE, cmd)) is not None:
        return UUID(prior)
    now = uow.clock.now()
    arrived = item.receive(cmd.quantity, now=now)
    key = (item.location_code, item.sku)
    level = (await uow.stock.lock_or_create([key], now=now))[key]
    movement = Movement(
        Reason.INBOUND_RECEIVED, on_hand_delta=arrived, reference=f"inbound:{item.id}"
    )
    await uow.stock.apply(level, movement, now=now)
    await uow.inbound.save(item)
    await _announce_incoming(uow, item, reason="inbound_received")
    await uow.idempotency.complete(resource_id=str(item.id), status=200)
    return item.id


async def cancel_inbound(cmd: commands.CancelInbound, uow: UnitOfWork) -> UUID:
    """What is still expected will not come. The backorders waiting at its stock row are
    promised again from the deliveries still expected; what none covers lapses."""
    item = await _locked(uow, cmd.inbound_id, cmd.caller_locations)
    if item.cancel(now=uow.clock.now()):
        await _promise_again(uow, item, reason="inbound_cancelled")
    return item.id


async def reschedule_inbound(cmd: commands.RescheduleInbound, uow: UnitOfWork) -> UUID:
    """The rest of the delivery comes at a new time: the backorders waiting at its stock row
    are promised again (a later date delays their orders; an earlier one brings them on)."""
    item = await _locked(uow, cmd.inbound_id, cmd.caller_locations)
    if item.reschedule(cmd.expected_at, now=uow.clock.now()):
        await _promise_again(uow, item, reason="inbound_rescheduled")
    return item.id


async def _promise_again(uow: UnitOfWork, item: Inbound, *, reason: str) -> None:
    """What the changed delivery still brings, and when, is saved and announced, and the
    queue at its stock row is promised again from it."""
    # The stock row too (after the delivery: the lock order), so that this SKU's incoming at
    # the location changes one transaction at a time and each event carries the total its
    # transaction left; and so that the queue cannot move while it is promised again
    # (whoever changes a waiting line locks its row first).
    await uow.stock.lock([(item.location_code, item.sku)])
    await uow.inbound.save(item)
    await _announce_incoming(uow, item, reason=reason)
    await _repromise_waiting(uow, item, reason=reason)


async def _repromise_waiting(uow: UnitOfWork, item: Inbound, *, reason: str) -> None:
    """Promise the queue at the delivery's stock row again; each reservation whose promise
    changed hears it (backorder_repromised), and its lapsed units are released."""
    key = (item.location_code, item.sku)
    queue = (await uow.reservations.queues([key])).get(key, [])
    incoming = (await uow.inbound.incoming([key])).get(key, [])
    changed = backorders.repromise(queue, incoming)
    if not changed:
        return
    now = uow.clock.now()
    by_reservation: dict[UUID, list[backorders.Repromise]] = defaultdict(list)
    for promise in changed:
        by_reservation[promise.reservation_id].append(promise)
    for res in await uow.reservations.get_many_for_update(sorted(by_reservation)):
        promises = by_reservation[res.id]
        for p in promises:
            res.repromise(p.line_no, p.expected_at, p.lapsed)
        await uow.reservations.save(res, now=now)
        uow.record(events.BackorderRepromised.of(res, promises, inbound_id=item.id, reason=reason))


async def _announce_incoming(uow: UnitOfWork, item: Inbound, *, reason: str) -> None:
    """What is still expected at the delivery's location for its SKU, now. Every writer of
    a delivery holds its stock row's lock, so the total cannot move before the commit."""
    key = (item.location_code, item.sku)
    deliveries = await uow.inbound.open_deliveries(key)
    uow.record(events.IncomingChanged.of(key, deliveries, inbound_id=item.id, reason=reason))


async def _locked(uow: UnitOfWork, inbound_id: UUID, within: frozenset[str] | None) -> Inbound:
    """The delivery, locked; 404 when there is none, or none at a location `within` the
    caller's locations claim."""
    item = await uow.inbound.get_for_update(inbound_id, within=within)
    if item is None:
        raise InboundNotFound(f"no inbound delivery {inbound_id}")
    return item
