"""Reservations: reserve all lines or none, confirm a hold, release, commit, expire.

Every use case that changes a reservation locks its stock rows first (in the global order)
and the reservation second, so concurrent ones queue instead of deadlocking. A new
reservation whose lines all name their location is the exception: it is written before its
stock rows are touched, and they are locked last, each by the one conditional UPDATE that
takes its units (a reservation row nobody else knows yet cannot be waited for).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from libs.bus.message_bus import HandleAlone
from libs.db.idempotency import StoredOutcome
from libs.ids import new_id
from services.inventory.domain import commands, events
from services.inventory.domain.allocation import Network, Plan, held_where_named, plan
from services.inventory.domain.errors import ReservationNotFound, UnknownLocation, UnknownSku
from services.inventory.domain.reservation import (
    LineChange,
    LinePick,
    ReleaseReason,
    Reservation,
    from_plan,
)
from services.inventory.domain.stock import Movement, Reason, StockLevel
from services.inventory.service_layer.handlers.common import replayed
from services.inventory.service_layer.unit_of_work import UnitOfWork

SCOPE_RESERVE = "reservations-create"
SCOPE_RELEASE = "reservations-release"
SCOPE_COMMIT = "reservations-commit"


async def reserve_stock(cmd: commands.ReserveStock, uow: UnitOfWork) -> UUID | Reservation:
    """Hold every line or none; a rejection is recorded and announced like a success.

    Returns the reservation's id, or for the HTTP API (`from_api`) the reservation made now
    (an earlier request's is still named by its id)."""
    reservation_id = cmd.reservation_id or new_id()
    late = cmd.named_and_on_hand
    # Late, the answer is a 201 unless a row is short; the lock-first path stores its own.
    expected = StoredOutcome(resource_id=str(reservation_id), status=201) if late else None
    if (prior := await replayed(uow, SCOPE_RESERVE, cmd, expected=expected)) is not None:
        return UUID(prior)
    made: Reservation | UUID | None = None
    if late:
        made = await _reserve_locking_late(cmd, reservation_id, uow)
        if made is None and uow.in_locked_batch:
            # Short in a consumer's batch: deciding under locks would lock rows the batch
            # did not lock first, out of the global order. The batch runs again one by one.
            raise HandleAlone(f"reservation {reservation_id} is short of stock")
    elif cmd.reservation_id is not None and await uow.reservations.exists(cmd.reservation_id):
        return cmd.reservation_id  # answered already: a second answer would double the hold
    if made is None:
        made = await _reserve_locking_first(cmd, reservation_id, uow)
    return made if cmd.from_api or isinstance(made, UUID) else made.id


async def _refuse_unknown(cmd: commands.ReserveStock, network: Network, uow: UnitOfWork) -> None:
    """For the HTTP API, a location or SKU inventory does not know is the client's error
    (422), not a shortage. Asked only when a stock row the request needs is missing: rows
    that exist name a known location and SKU."""
    named = {(r.location_code, r.sku) for r in cmd.requests if r.location_code is not None}
    anywhere = {r.sku for r in cmd.requests if r.location_code is None}
    if named <= set(network.levels) and anywhere <= set(network.eligible):
        return
    codes = {code for code, _ in named}
    if missing := sorted(codes - await uow.locations.existing(codes)):
        raise UnknownLocation(f"no location {', '.join(missing)}", location_codes=missing)
    skus = {r.sku for r in cmd.requests}
    if missing := sorted(skus - await uow.stock.known_skus(skus)):
        raise UnknownSku(f"no stock record of {', '.join(missing)}", skus=missing)


async def _reserve_locking_late(
    cmd: commands.ReserveStock, reservation_id: UUID, uow: UnitOfWork
) -> Reservation | UUID | None:
    """Write the reservation first, then take its units with one conditional UPDATE per
    stock row, just before the commit: a hot SKU's row is locked only for that statement,
    the outbox rows and the commit, not for the whole transaction.

    None when a row is short: everything written here is undone, and the caller decides
    under locks what the answer is (a rejection naming what each line could have had, or a
    hold if the stock came back meanwhile). A reservation with this id made earlier (a
    repeated command) is left as it is, and named.
    """
    now = uow.clock.now()
    res = _reservation(cmd, held_where_named(cmd.requests), reservation_id, now=now)
    if not await uow.reservations.add(res, now=now):
        return res.id  # answered already: a second answer would double the hold
    if await uow.stock.take(res.holds, reference=f"reservation:{res.id}", now=now):
        uow.record(events.ReservationConfirmed.of(res))
        return res
    await uow.reservations.remove(res.id)
    return None


async def _reserve_locking_first(
    cmd: commands.ReserveStock, reservation_id: UUID, uow: UnitOfWork
) -> Reservation:
    """Lock every stock row the reservation may use, decide in plain Python, write."""
    network = await _network(uow, cmd)
    if cmd.from_api:
        await _refuse_unknown(cmd, network, uow)
    now = uow.clock.now()
    res = _reservation(
        cmd,
        plan(cmd.requests, network, allow_backorder=cmd.allow_backorder),
        reservation_id,
        now=now,
    )
    for line in res.lines:
        if line.held:
            movement = Movement(
                Reason.RESERVED, reserved_delta=line.held, reference=f"reservation:{res.id}"
            )
            await uow.stock.apply(network.levels[line.key], movement, now=now)
    await uow.reservations.add(res, now=now)
    uow.record(
        events.ReservationRejected.of(res) if res.rejected else events.ReservationConfirmed.of(res)
    )
    await uow.idempotency.complete(resource_id=str(res.id), status=409 if res.rejected else 201)
    return res


def _reservation(
    cmd: commands.ReserveStock, decided: Plan, reservation_id: UUID, *, now: datetime
) -> Reservation:
    return from_plan(
        decided,
        cmd.requests,
        id=reservation_id,
        order_id=cmd.order_id,
        allow_backorder=cmd.allow_backorder,
        priority=cmd.priority,
        ordered_at=cmd.ordered_at,
        expires_at=cmd.expires_at,
        now=now,
    )


async def _network(uow: UnitOfWork, cmd: commands.ReserveStock) -> Network:
    named = {(r.location_code, r.sku) for r in cmd.requests if r.location_code is not None}
    anywhere = {r.sku for r in cmd.requests if r.location_code is None}
    levels = await uow.stock.lock(named, skus_shipped_from_anywhere=anywhere)
    eligible: dict[str, list[str]] = {}
    for code, sku in sorted(levels):
        if sku in anywhere:
            eligible.setdefault(sku, []).append(code)
    if not cmd.allow_backorder:
        return Network(levels=levels, eligible=eligible)
    keys = set(levels) | named
    return Network(
        levels=levels,
        eligible=eligible,
        incoming=await uow.inbound.incoming(keys),
        waiting=await uow.reservations.waiting(keys),
    )


async def confirm_reservation(cmd: commands.ConfirmReservation, uow: UnitOfWork) -> UUID:
    """Make a temporary hold firm, so it no longer expires."""
    res = await _get(uow, cmd.reservation_id)
    if res.confirm():
        await uow.reservations.save(res, now=uow.clock.now())
        uow.record(events.ReservationConfirmed.of(res))
    return res.id


async def release_reservation(cmd: commands.ReleaseReservation, uow: UnitOfWork) -> UUID:
    """Give back all of a reservation's open units, or the named ones (backordered first)."""
    if (prior := await replayed(uow, SCOPE_RELEASE, cmd)) is not None:
        return UUID(prior)
    levels = await _lock_stock_of(uow, [cmd.reservation_id])
    found = await uow.reservations.get_for_update(cmd.reservation_id)
    if found is None and cmd.missing_ok:
        return cmd.reservation_id
    res = _existing(found, cmd.reservation_id)
    await _give_back(uow, res, res.release(cmd.picks, reason=cmd.reason), levels, cmd.reason)
    await uow.idempotency.complete(resource_id=str(res.id), status=200)
    return res.id


async def release_order(cmd: commands.ReleaseOrder, uow: UnitOfWork) -> None:
    """An order was cancelled (in whole or part): release what its reservations still hold,
    newest reservation first, never more than was cancelled."""
    ids = await uow.reservations.ids_of_order(cmd.order_id)
    if not ids:
        return
    levels = await _lock_stock_of(uow, ids)
    reservations = await uow.reservations.get_many_for_update(ids)
    picks = list(cmd.picks) if cmd.picks is not None else None
    for res in sorted(reservations, key=lambda r: r.created_at, reverse=True):
        changes = res.release(picks, reason=ReleaseReason.CANCELLED)
        await _give_back(uow, res, changes, levels, ReleaseReason.CANCELLED)
        if picks is not None:
            picks = _still_wanted(picks, changes)


async def commit_reservation(cmd: commands.CommitReservation, uow: UnitOfWork) -> UUID:
    """Held units shipped: on hand and reserved both drop, through the ledger."""
    if (prior := await replayed(uow, SCOPE_COMMIT, cmd)) is not None:
        return UUID(prior)
    levels = await _lock_stock_of(uow, [cmd.reservation_id])
    res = await _get(uow, cmd.reservation_id)
    changes = res.commit(cmd.picks)
    now = uow.clock.now()
    for change in changes:
        movement = Movement(
            Reason.COMMITTED,
            on_hand_delta=-change.held,
            reserved_delta=-change.held,
            reference=f"reservation:{res.id}",
            note=f"shipment {cmd.shipment_id}" if cmd.shipment_id else None,
        )
        await uow.stock.apply(levels[(change.location_code, change.sku)], movement, now=now)
    if changes:
        await uow.reservations.save(res, now=now)
        uow.record(events.StockCommitted.of(res, changes, shipment_id=cmd.shipment_id))
    await uow.idempotency.complete(resource_id=str(res.id), status=200)
    return res.id


async def expire_reservation(cmd: commands.ExpireReservation, uow: UnitOfWork) -> None:
    """A temporary hold that was never confirmed runs out: its units go back."""
    levels = await _lock_stock_of(uow, [cmd.reservation_id])
    res = await _get(uow, cmd.reservation_id)
    changes = res.expire(uow.clock.now())
    await _give_back(uow, res, changes, levels, ReleaseReason.EXPIRED)


async def _give_back(
    uow: UnitOfWork,
    res: Reservation,
    changes: Sequence[LineChange],
    levels: dict[tuple[str, str], StockLevel],
    reason: ReleaseReason,
) -> None:
    if not changes:
        return
    now = uow.clock.now()
    ledger_reason = Reason.EXPIRED if reason is ReleaseReason.EXPIRED else Reason.RELEASED
    for change in changes:
        if change.held:
            movement = Movement(
                ledger_reason, reserved_delta=-change.held, reference=f"reservation:{res.id}"
            )
            await uow.stock.apply(levels[(change.location_code, change.sku)], movement, now=now)
    await uow.reservations.save(res, now=now)
    uow.record(events.ReservationReleased.of(res, changes, reason=reason.value))


async def _lock_stock_of(
    uow: UnitOfWork, reservation_ids: Sequence[UUID]
) -> dict[tuple[str, str], StockLevel]:
    return await uow.stock.lock_of_reservations(reservation_ids)


async def _get(uow: UnitOfWork, reservation_id: UUID) -> Reservation:
    return _existing(await uow.reservations.get_for_update(reservation_id), reservation_id)


def _existing(res: Reservation | None, reservation_id: UUID) -> Reservation:
    if res is None:
        raise ReservationNotFound(f"no reservation {reservation_id}")
    return res


def _still_wanted(picks: list[LinePick], changes: Sequence[LineChange]) -> list[LinePick]:
    """The picks minus what one reservation gave back."""
    given: dict[str, int] = {}
    for c in changes:
        given[c.sku] = given.get(c.sku, 0) + c.held + c.backordered
    left = []
    for pick in picks:
        taken = min(given.get(pick.sku, 0), pick.quantity)
        given[pick.sku] = given.get(pick.sku, 0) - taken
        if pick.quantity > taken:
            left.append(LinePick(pick.sku, pick.quantity - taken, pick.location_code))
    return left
