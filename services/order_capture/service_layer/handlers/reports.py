"""Reports from the other services (stock held, parcel shipped, refund paid...), applied to
the order they are about."""

from __future__ import annotations

from collections.abc import Callable

from libs.observability.logging import get_logger
from services.order_capture.domain import commands
from services.order_capture.domain.errors import OrderNotFound
from services.order_capture.domain.model import Order
from services.order_capture.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

# Which Order method applies which report (each returns False when it changed nothing).
RECORDERS: dict[type[commands.Report], Callable[..., bool]] = {
    commands.RecordStockReserved: Order.record_stock_reserved,
    commands.RecordStockShortage: Order.record_stock_shortage,
    commands.RecordAllocation: Order.record_allocation,
    commands.RecordShipment: Order.record_shipment,
    commands.RecordDelivery: Order.record_delivery,
    commands.RecordCollection: Order.record_collection,
    commands.RecordReturn: Order.record_return,
    commands.RecordRefund: Order.record_refund,
    commands.RecordHold: Order.record_hold,
    commands.RecordDelay: Order.record_delay,
    commands.RecordCompletion: Order.record_completion,
}


# Inventory reserves for any caller of its API (a till, a marketplace connector holding stock
# under its own order ids), not only for orders captured here: its reservation facts about an
# order this service never saw are someone else's business, not a producer bug.
_MAY_CONCERN_OTHER_ORDERS = (commands.RecordStockReserved, commands.RecordStockShortage)


async def record_report(cmd: commands.Report, uow: UnitOfWork) -> None:
    """A consumed report: lock the order, apply the fact once, save if anything changed.

    Any other report about an order this service never accepted (or a line it does not have)
    is a producer bug: it fails, and after the consumer's retries lands in the dead-letter
    topic.
    """
    order = await uow.orders.get_for_update(cmd.order_id)
    if order is None and isinstance(cmd, _MAY_CONCERN_OTHER_ORDERS):
        log.info("report.not_our_order", report=type(cmd).__name__, order_id=str(cmd.order_id))
        return
    if order is None:
        raise OrderNotFound(f"{type(cmd).__name__} for unknown order {cmd.order_id}")
    if RECORDERS[type(cmd)](order, cmd, now=uow.clock.now()):
        await uow.orders.save(order)
