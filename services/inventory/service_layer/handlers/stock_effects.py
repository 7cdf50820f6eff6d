"""What follows any stock change: after each command, the units it freed go to the orders
waiting for them (before the next command of a consumer's batch could take them); at commit,
every row the transaction changed, and any alert a SKU crossed, is announced once."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from libs.ids import new_id
from services.inventory.domain import backorders, events
from services.inventory.domain.alerts import Alert, crossed
from services.inventory.domain.stock import Movement, Reason
from services.inventory.service_layer.unit_of_work import UnitOfWork


async def serve_backorders(uow: UnitOfWork) -> None:
    """Hand available units of every changed row to its waiting lines, queue order first.

    The row is locked already (it was changed in this transaction), and anyone changing a
    waiting line locks its row first, so the queue cannot move under us. Rows that only
    lost units (holds, shipments) are skipped: they cannot have anything for a queue.
    """
    now = uow.clock.now()
    freed = {
        key: touched
        for key, touched in uow.stock.unserved().items()
        if touched.level.available > 0 and not touched.freed_nothing
    }
    queues = await uow.reservations.queues(freed)
    for key, touched in sorted(freed.items()):
        level = touched.level
        allocations = backorders.allocate(queues.get(key, []), level.available)
        if not allocations:
            continue
        waiting = await uow.reservations.get_many_for_update(
            [a.reservation_id for a in allocations]
        )
        by_id = {res.id: res for res in waiting}
        served: dict[UUID, list[events.AllocatedLine]] = defaultdict(list)
        for a in allocations:
            res = by_id[a.reservation_id]
            step = res.allocate_backorder(a.line_no, a.quantity)
            movement = Movement(
                Reason.BACKORDER_ALLOCATED, reserved_delta=step, reference=f"reservation:{res.id}"
            )
            await uow.stock.apply(level, movement, now=now)
            served[res.id].append(events.AllocatedLine(*key, step))
        for res_id, lines in served.items():
            await uow.reservations.save(by_id[res_id], now=now)
            uow.record(events.BackorderAllocated.of(by_id[res_id], lines, allocation_id=new_id()))
    # After the allocations, which change rows too: what they leave, no queue waits for.
    uow.stock.served()


async def announce_stock_changes(uow: UnitOfWork) -> None:
    """One stock_changed per row the transaction changed, with its counters after the last
    change and the reasons of them all: a consumer's batch of reservations that takes from
    one row thirty times announces it once (its intermediate counters were never committed,
    so nobody could have seen them). Alerts compare the network before the transaction with
    after it."""
    touched = uow.stock.touched
    if not touched:
        return
    facts = await uow.stock.facts()
    change: dict[str, int] = defaultdict(int)
    for (code, sku), t in sorted(touched.items()):
        # The network total counts active locations only, and so must the change that led
        # to it.
        if code in facts.active:
            change[sku] += t.level.available - t.available_before
        uow.record(events.StockChanged.of(t, network_available=facts.network_available[sku]))
    for sku in sorted(facts.network_available):
        uow.record(
            *stock_alerts(
                sku,
                network_available=facts.network_available[sku],
                change=change[sku],
                threshold=facts.thresholds.get(sku),
            )
        )


def stock_alerts(
    sku: str, *, network_available: int, change: int, threshold: int | None
) -> list[events.LowStock | events.BackInStock]:
    """The alerts a SKU crossed: the network before is the network now minus the change that
    led to it (both over active locations only)."""
    return [
        events.LowStock(sku, network_available, threshold)
        if alert is Alert.LOW_STOCK
        else events.BackInStock(sku, network_available)
        for alert in crossed(
            before=max(network_available - change, 0),
            after=network_available,
            low_stock_threshold=threshold,
        )
    ]
