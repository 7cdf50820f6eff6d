"""Use cases of inventory: each takes a command and an open unit of work."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from libs.ids import new_id
from services.inventory.adapters import published
from services.inventory.domain import commands
from services.inventory.domain.model import StockLevel, allocate
from services.inventory.service_layer.unit_of_work import InventoryUnitOfWork


async def reserve_for_order(cmd: commands.ReserveForOrder, uow: InventoryUnitOfWork) -> None:
    """Hold stock for every line of a placed order, or for none, and say which."""
    if await uow.reservations.exists_for_order(cmd.order_id):
        return  # already answered: a second answer would double the hold
    levels = await uow.stock.lock_levels(line.sku for line in cmd.lines)
    plan = allocate(cmd.lines, levels)
    if not plan.complete:
        uow.publish(published.reservation_rejected(cmd.order_id, plan.shortfalls))
        return
    allocations = plan.allocations
    by_key = {(lv.sku, lv.location_code): lv for lvs in levels.values() for lv in lvs}
    touched: list[StockLevel] = []
    for a in allocations:
        level = by_key[(a.sku, a.location_code)]
        level.reserve(a.quantity)
        touched.append(level)
    now = uow.clock.now()
    reservation_id = new_id()
    await uow.stock.save(touched, now=now)
    await uow.reservations.add(
        reservation_id=reservation_id, order_id=cmd.order_id, allocations=allocations, now=now
    )
    uow.publish(published.stock_reserved(cmd.order_id, reservation_id, allocations))


async def set_stock_level(cmd: commands.SetStockLevel, uow: InventoryUnitOfWork) -> None:
    """Record a counted on-hand quantity from a WMS or ERP sync."""
    now = uow.clock.now()
    level = await uow.stock.lock_level(location_code=cmd.location_code, sku=cmd.sku, now=now)
    level.count(cmd.on_hand)
    await uow.stock.save([level], now=now)


HANDLERS: dict[type, Handler] = {
    commands.ReserveForOrder: reserve_for_order,
    commands.SetStockLevel: set_stock_level,
}
