"""Reservations: reserve all lines or none, confirm a hold, release, commit, expire.

Every use case that changes a reservation locks its stock rows first (in the global order)
and the reservation second, so concurrent ones queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from libs.ids import new_id
from services.inventory.adapters import published
from services.inventory.domain import commands
from services.inventory.domain.allocation import Network, plan
from services.inventory.domain.errors import ReservationNotFound
from services.inventory.domain.reservation import (
    LineChange,
    LinePick,
    ReleaseReason,
    Reservation,
    from_plan,
)
from services.inventory.domain.stock import Movement, Reason, StockLevel
from services.inventory.service_layer.handlers.common import replayed
from services.inventory.service_layer.unit_of_work import InventoryUnitOfWork

SCOPE_RESERVE = "reservations-create"
SCOPE_RELEASE = "reservations-release"
SCOPE_COMMIT = "reservations-commit"


async def reserve_stock(cmd: commands.ReserveStock, uow: InventoryUnitOfWork) -> UUID:
    """Hold every line or none; a rejection is recorded and announced like a success."""
    if (prior := await replayed(uow, SCOPE_RESERVE, cmd)) is not None:
        return UUID(prior)
    if cmd.reservation_id is not None and await uow.reservations.exists(cmd.reservation_id):
        return cmd.reservation_id  # answered already: a second answer would double the hold
    network = await _network(uow, cmd)
    now = uow.clock.now()
    res = from_plan(
        plan(cmd.requests, network, allow_backorder=cmd.allow_backorder),
        cmd.requests,
        id=cmd.reservation_id or new_id(),
        order_id=cmd.order_id,
        allow_backorder=cmd.allow_backorder,
        priority=cmd.priority,
        ordered_at=cmd.ordered_at,
        expires_at=cmd.expires_at,
        now=now,
    )
    for line in res.lines:
        if line.held:
            movement = Movement(
                Reason.RESERVED, reserved_delta=line.held, reference=f"reservation:{res.id}"
            )
            await uow.stock.apply(network.levels[line.key], movement, now=now)
    await uow.reservations.add(res, now=now)
    uow.publish(
        published.reservation_rejected(res)
        if res.rejected
        else published.reservation_confirmed(res)
    )
    await uow.idempotency.complete(resource_id=str(res.id), status=409 if res.rejected else 201)
    return res.id


async def _network(uow: InventoryUnitOfWork, cmd: commands.ReserveStock) -> Network:
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


async def confirm_reservation(cmd: commands.ConfirmReservation, uow: InventoryUnitOfWork) -> UUID:
    """Make a temporary hold firm, so it no longer expires."""
    res = await _get(uow, cmd.reservation_id)
    if res.confirm():
        await uow.reservations.save(res, now=uow.clock.now())
        uow.publish(published.reservation_confirmed(res))
    return res.id


async def release_reservation(cmd: commands.ReleaseReservation, uow: InventoryUnitOfWork) -> UUID:
    """Give back all of a reservation's open units, or the named ones (backordered first)."""
    if (prior := await replayed(uow, SCOPE_RELEASE, cmd)) is not None:
        return UUID(prior)
    if cmd.missing_ok and not await uow.reservations.exists(cmd.reservation_id):
        return cmd.reservation_id
    levels = await _lock_stock_of(uow, [cmd.reservation_id])
    res = await _get(uow, cmd.reservation_id)
    await _give_back(uow, res, res.release(cmd.picks, reason=cmd.reason), levels, cmd.reason)
    await uow.idempotency.complete(resource_id=str(res.id), status=200)
    return res.id


async def release_order(cmd: commands.ReleaseOrder, uow: InventoryUnitOfWork) -> None:
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


async def commit_reservation(cmd: commands.CommitReservation, uow: InventoryUnitOfWork) -> UUID:
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
        uow.publish(published.stock_committed(res, changes, shipment_id=cmd.shipment_id))
    await uow.idempotency.complete(resource_id=str(res.id), status=200)
    return res.id


async def expire_reservation(cmd: commands.ExpireReservation, uow: InventoryUnitOfWork) -> None:
    """A temporary hold that was never confirmed runs out: its units go back."""
    levels = await _lock_stock_of(uow, [cmd.reservation_id])
    res = await _get(uow, cmd.reservation_id)
    changes = res.expire(uow.clock.now())
    await _give_back(uow, res, changes, levels, ReleaseReason.EXPIRED)


async def _give_back(
    uow: InventoryUnitOfWork,
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
    uow.publish(published.reservation_released(res, changes, reason=reason.value))


async def _lock_stock_of(
    uow: InventoryUnitOfWork, reservation_ids: Sequence[UUID]
) -> dict[tuple[str, str], StockLevel]:
    return await uow.stock.lock(await uow.reservations.stock_keys(reservation_ids))


async def _get(uow: InventoryUnitOfWork, reservation_id: UUID) -> Reservation:
    res = await uow.reservations.get_for_update(reservation_id)
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
