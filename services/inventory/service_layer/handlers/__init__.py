"""Inventory's use cases, one module per resource; the bus dispatches by command type."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from services.inventory.domain import commands
from services.inventory.service_layer.handlers import inbound, locations, reservations, stock

HANDLERS: dict[type, Handler] = {
    commands.CreateLocation: locations.create_location,
    commands.UpdateLocation: locations.update_location,
    commands.SetStockLevel: stock.set_stock_level,
    commands.AdjustStock: stock.adjust_stock,
    commands.SetSkuPolicy: stock.set_sku_policy,
    commands.RestockReturn: stock.restock_return,
    commands.CreateInbound: inbound.create_inbound,
    commands.ReceiveInbound: inbound.receive_inbound,
    commands.CancelInbound: inbound.cancel_inbound,
    commands.RescheduleInbound: inbound.reschedule_inbound,
    commands.ReserveStock: reservations.reserve_stock,
    commands.ConfirmReservation: reservations.confirm_reservation,
    commands.ReleaseReservation: reservations.release_reservation,
    commands.ReleaseOrder: reservations.release_order,
    commands.CommitReservation: reservations.commit_reservation,
    commands.ExpireReservation: reservations.expire_reservation,
}
