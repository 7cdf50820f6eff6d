"""Use cases of order-capture: each takes a command and an open unit of work."""

from __future__ import annotations

from uuid import UUID

from libs.bus.message_bus import Handler
from libs.ids import new_id
from services.order_capture.domain import commands
from services.order_capture.domain.errors import DuplicateChannelOrder
from services.order_capture.domain.model import Order, OrderLine
from services.order_capture.service_layer.unit_of_work import OrderCaptureUnitOfWork

IDEMPOTENCY_SCOPE_PLACE = "orders-create"


async def place_order(cmd: commands.PlaceOrder, uow: OrderCaptureUnitOfWork) -> UUID:
    """Accept a new order from a channel; a repeated Idempotency-Key returns the first order."""
    if cmd.idempotency_key:
        prior = await uow.idempotency.claim(
            scope=IDEMPOTENCY_SCOPE_PLACE,
            key=cmd.idempotency_key,
            fingerprint=cmd.request_fingerprint,
        )
        if prior is not None and prior.resource_id is not None:
            return UUID(prior.resource_id)
    existing = await uow.orders.find_id_by_channel_ref(
        channel=cmd.channel, channel_order_ref=cmd.channel_order_ref
    )
    if existing is not None:
        raise DuplicateChannelOrder(
            f"channel {cmd.channel!r} already placed order {cmd.channel_order_ref!r}",
            existing_order_id=str(existing),
        )
    order = Order.place(
        id=new_id(),
        order_number=await uow.orders.next_order_number(),
        channel=cmd.channel,
        channel_order_ref=cmd.channel_order_ref,
        currency=cmd.currency,
        customer_email=cmd.customer_email,
        customer_name=cmd.customer_name,
        lines=[
            OrderLine(id=new_id(), sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price)
            for ln in cmd.lines
        ],
        now=uow.clock.now(),
    )
    await uow.orders.add(order)
    await uow.idempotency.complete(resource_id=str(order.id), status=201)
    return order.id


async def confirm_stock_reserved(
    cmd: commands.ConfirmStockReserved, uow: OrderCaptureUnitOfWork
) -> None:
    """Inventory holds stock for every line: the order is confirmed."""
    order = await uow.orders.get_for_update(cmd.order_id)
    if order is None:
        return
    order.confirm_stock_reserved(now=uow.clock.now())
    await uow.orders.save_status(order)


async def record_stock_shortage(
    cmd: commands.RecordStockShortage, uow: OrderCaptureUnitOfWork
) -> None:
    """Inventory could not hold stock for the whole order: the order waits as backordered."""
    order = await uow.orders.get_for_update(cmd.order_id)
    if order is None:
        return
    order.record_stock_shortage(reason=cmd.reason, now=uow.clock.now())
    await uow.orders.save_status(order)


HANDLERS: dict[type, Handler] = {
    commands.PlaceOrder: place_order,
    commands.ConfirmStockReserved: confirm_stock_reserved,
    commands.RecordStockShortage: record_stock_shortage,
}
