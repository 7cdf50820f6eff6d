"""Stock counts, adjustments, thresholds and restocked returns: every change via the ledger."""

from __future__ import annotations

from services.inventory.domain import commands
from services.inventory.domain.stock import Movement, Reason, adjustment
from services.inventory.service_layer.handlers.common import existing_location, replayed
from services.inventory.service_layer.unit_of_work import UnitOfWork

SCOPE_ADJUST = "stock-adjust"


async def set_stock_level(cmd: commands.SetStockLevel, uow: UnitOfWork) -> None:
    """Record a counted on-hand quantity (and optionally the safety stock) from a WMS or ERP."""
    await existing_location(uow, cmd.location_code, within=cmd.caller_locations)
    now = uow.clock.now()
    key = (cmd.location_code, cmd.sku)
    level = (await uow.stock.lock_or_create([key], now=now))[key]
    movement = level.count(cmd.on_hand)
    if movement is not None:
        await uow.stock.apply(level, movement, now=now)
    if cmd.safety_stock is not None:
        await uow.stock.set_safety_stock(level, cmd.safety_stock, now=now)


async def adjust_stock(cmd: commands.AdjustStock, uow: UnitOfWork) -> int:
    """Add or remove on-hand units for a stated reason; returns the ledger entry's id."""
    # The location first: a replay must not show a caller a movement outside its claim.
    await existing_location(uow, cmd.location_code, within=cmd.caller_locations)
    if (prior := await replayed(uow, SCOPE_ADJUST, cmd)) is not None:
        return int(prior)
    movement = adjustment(cmd.reason, cmd.delta, note=cmd.note)
    now = uow.clock.now()
    key = (cmd.location_code, cmd.sku)
    level = (await uow.stock.lock_or_create([key], now=now))[key]
    movement_id = await uow.stock.apply(level, movement, now=now)
    await uow.idempotency.complete(resource_id=str(movement_id), status=201)
    return movement_id


async def set_sku_policy(cmd: commands.SetSkuPolicy, uow: UnitOfWork) -> None:
    """Set the SKU's low-stock threshold (None: no low-stock alerts)."""
    await uow.stock.set_threshold(cmd.sku, cmd.low_stock_threshold, now=uow.clock.now())


async def restock_return(cmd: commands.RestockReturn, uow: UnitOfWork) -> None:
    """Resellable returned units go back on hand where they were received, once per receipt."""
    reference = f"return-receipt:{cmd.receipt_id}"
    if not cmd.lines or await uow.stock.has_movement(reference):
        return
    now = uow.clock.now()
    keys = [(cmd.location_code, sku) for sku, _ in cmd.lines]
    levels = await uow.stock.lock_or_create(keys, now=now)
    for sku, quantity in cmd.lines:
        movement = Movement(Reason.RETURN_RESTOCKED, on_hand_delta=quantity, reference=reference)
        await uow.stock.apply(levels[(cmd.location_code, sku)], movement, now=now)
