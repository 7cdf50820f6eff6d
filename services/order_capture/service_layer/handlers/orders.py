"""Use cases of the orders resource: placing, editing and cancelling an order (by a channel
or by its customer); each takes a command and an open unit of work."""

from __future__ import annotations

from uuid import UUID

from libs.ids import new_id
from libs.self_service import email_matches, email_proves_order
from services.order_capture.domain import commands
from services.order_capture.domain.errors import (
    SELF_SERVICE_NOT_FOUND,
    DuplicateChannelOrder,
    OrderNotCancellable,
    OrderNotFound,
)
from services.order_capture.domain.model import Order
from services.order_capture.service_layer.unit_of_work import UnitOfWork

IDEMPOTENCY_SCOPE_PLACE = "orders-create"
IDEMPOTENCY_SCOPE_CANCEL = "orders-cancel"
CUSTOMER = "customer"


async def place_order(cmd: commands.PlaceOrder, uow: UnitOfWork) -> UUID:
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


async def edit_order(cmd: commands.EditOrder, uow: UnitOfWork) -> UUID:
    order = await _locked(uow, cmd.order_id)
    if order.edit(cmd.changes, expected_version=cmd.expected_version, now=uow.clock.now()):
        await uow.orders.save(order)
    return order.id


async def change_priority(cmd: commands.ChangePriority, uow: UnitOfWork) -> UUID:
    """Expedite an order or take it back to normal; the same priority again is a no-op, so a
    retried request is safe without an Idempotency-Key."""
    order = await _locked(uow, cmd.order_id)
    if order.change_priority(cmd.priority, cmd.reason, now=uow.clock.now()):
        await uow.orders.save(order)
    return order.id


async def cancel_order(cmd: commands.CancelOrder, uow: UnitOfWork) -> UUID:
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


async def cancel_own_order(cmd: commands.CancelOwnOrder, uow: UnitOfWork) -> UUID:
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
    uow: UnitOfWork,
    scope: str,
    key: str | None,
    fingerprint: str,
) -> UUID | None:
    """The order a request with this Idempotency-Key already produced, if it ran before."""
    prior = await uow.idempotency.replayed(scope=scope, key=key, fingerprint=fingerprint)
    return UUID(prior.resource_id) if prior is not None and prior.resource_id else None


async def _locked(uow: UnitOfWork, order_id: UUID) -> Order:
    order = await uow.orders.get_for_update(order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    return order
