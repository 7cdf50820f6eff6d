"""The order projection: returns' own copy of the orders it may take returns of."""

from __future__ import annotations

from services.returns.domain import commands
from services.returns.service_layer.unit_of_work import UnitOfWork


async def project_placed_order(cmd: commands.ProjectPlacedOrder, uow: UnitOfWork) -> None:
    """Remember a placed order's lines and prices, for the returns that may come."""
    await uow.orders.add_if_new(cmd)


async def update_order_contact(cmd: commands.UpdateOrderContact, uow: UnitOfWork) -> None:
    """The address or contact changed: an exchange ships to the new one."""
    await uow.orders.update_contact(
        cmd.order_id, cmd.shipping_address, cmd.customer_email, cmd.customer_name
    )


async def record_shipment(cmd: commands.RecordShipment, uow: UnitOfWork) -> None:
    """Delivered units start the return window; a shipment is counted once, whatever the
    redeliveries."""
    found = await uow.orders.get_for_update(cmd.order_id)
    if found is None:
        return  # an order placed before returns listened: nothing to return against
    order, _ = found
    kind = "delivered" if cmd.delivered else "shipped"
    if not await uow.orders.first_sighting(cmd.shipment_id, kind, cmd.order_id, uow.clock.now()):
        return
    if cmd.delivered:
        order.record_delivery(cmd.quantities, cmd.at)
    else:
        order.record_shipment(cmd.quantities)
    await uow.orders.save_lines(order)
