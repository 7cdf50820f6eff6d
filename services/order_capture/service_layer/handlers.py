"""Use cases of order-capture: each takes a command and an open unit of work."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from libs.bus.message_bus import Handler
from libs.ids import new_id
from libs.observability.logging import get_logger
from libs.self_service import email_matches, email_proves_order
from services.order_capture.domain import commands
from services.order_capture.domain.errors import (
    SELF_SERVICE_NOT_FOUND,
    DuplicateChannelOrder,
    OrderNotCancellable,
    OrderNotFound,
)
from services.order_capture.domain.model import Order
from services.order_capture.service_layer.unit_of_work import OrderCaptureUnitOfWork

IDEMPOTENCY_SCOPE_PLACE = "orders-create"
IDEMPOTENCY_SCOPE_CANCEL = "orders-cancel"
CUSTOMER = "customer"

log = get_logger(__name__)


async def place_order(cmd: commands.PlaceOrder, uow: OrderCaptureUnitOfWork) -> UUID:
    """Accept a new order from a channel; a repeated Idempotency-Key returns the first order."""
    replayed = await _replayed(
        uow, IDEMPOTENCY_SCOPE_PLACE, cmd.idempotency_key, cmd.request_fingerprint
    )
    if replayed is not None:
        return replayed
    existing = await uow.orders.find_id_by_channel_ref(
        channel=cmd.channel.value, channel_order_ref=cmd.channel_order_ref
    )
    if existing is not None:
        raise DuplicateChannelOrder(
            f"channel {cmd.channel.value!r} already placed order {cmd.channel_order_ref!r}",
            existing_order_id=str(existing),
        )
    order = Order.place(
        cmd,
        id=new_id(),
        order_number=await uow.orders.next_order_number(),
        line_ids=[new_id() for _ in cmd.lines],
        now=uow.clock.now(),
    )
    await uow.orders.add(order)
    await uow.idempotency.complete(resource_id=str(order.id), status=201)
    return order.id


async def edit_order(cmd: commands.EditOrder, uow: OrderCaptureUnitOfWork) -> UUID:
    order = await _locked(uow, cmd.order_id)
    if order.edit(cmd.changes, expected_version=cmd.expected_version, now=uow.clock.now()):
        await uow.orders.save(order)
    return order.id


async def cancel_order(cmd: commands.CancelOrder, uow: OrderCaptureUnitOfWork) -> UUID:
    """Cancel unshipped units. With an Idempotency-Key a retried partial cancel applies once."""
    replayed = await _replayed(
        uow, IDEMPOTENCY_SCOPE_CANCEL, cmd.idempotency_key, cmd.request_fingerprint
    )
    if replayed is not None:
        return replayed
    order = await _locked(uow, cmd.order_id)
    changed = order.cancel(
        quantities=cmd.quantities,
        reason=cmd.reason,
        requested_by=cmd.requested_by,
        cancellation_id=str(new_id()),
        now=uow.clock.now(),
    )
    if changed:
        await uow.orders.save(order)
    await uow.idempotency.complete(resource_id=str(order.id), status=200)
    return order.id


async def cancel_own_order(cmd: commands.CancelOwnOrder, uow: OrderCaptureUnitOfWork) -> UUID:
    """Self-service: the customer cancels the whole order while nothing has shipped."""
    found = await uow.orders.find_customer_email_by_number(cmd.order_number)
    # An unknown number and a wrong e-mail take the same path (one lookup, one constant-time
    # comparison) and get the same answer; only a proven customer gets the order loaded.
    proven = email_proves_order(None if found is None else found[1], cmd.email)
    if found is None or not proven:
        raise OrderNotFound(SELF_SERVICE_NOT_FOUND)
    order = await uow.orders.get_for_update(found[0])
    # The e-mail can be edited between the lookup and the lock: the proof must still hold.
    if order is None or not email_matches(order.customer.email, cmd.email):
        raise OrderNotFound(SELF_SERVICE_NOT_FOUND)
    if order.has_shipped:
        raise OrderNotCancellable(
            f"part of order {order.order_number} has shipped; contact customer service"
        )
    if order.cancel(
        quantities=None,
        reason=cmd.reason,
        requested_by=CUSTOMER,
        cancellation_id=str(new_id()),
        now=uow.clock.now(),
    ):
        await uow.orders.save(order)
    return order.id


async def _replayed(
    uow: OrderCaptureUnitOfWork,
    scope: str,
    key: str | None,
    fingerprint: str,
) -> UUID | None:
    """The order a request with this Idempotency-Key already produced, if it ran before."""
    prior = await uow.idempotency.replayed(scope=scope, key=key, fingerprint=fingerprint)
    return UUID(prior.resource_id) if prior is not None and prior.resource_id else None


async def _locked(uow: OrderCaptureUnitOfWork, order_id: UUID) -> Order:
    order = await uow.orders.get_for_update(order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    return order


# --- reports from the other services ---------------------------------------------------------

# Which Order method applies which report (each returns False when it changed nothing).
_RECORDERS: dict[type[commands.Report], Callable[..., bool]] = {
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


async def record_report(cmd: commands.Report, uow: OrderCaptureUnitOfWork) -> None:
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
    if _RECORDERS[type(cmd)](order, cmd, now=uow.clock.now()):
        await uow.orders.save(order)


# The consumed reports: each locks its own order (and then its lines) and nothing else, so a
# consumer's batch of them may share a transaction (libs.bus.message_bus.MessageBus).
BATCHABLE = frozenset(_RECORDERS)

HANDLERS: dict[type, Handler] = {
    commands.PlaceOrder: place_order,
    commands.EditOrder: edit_order,
    commands.CancelOrder: cancel_order,
    commands.CancelOwnOrder: cancel_own_order,
    **dict.fromkeys(_RECORDERS, record_report),
}
