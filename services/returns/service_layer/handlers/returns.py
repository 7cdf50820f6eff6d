"""Returns' use cases: open, review, drop off, receive; the answers about refunds and
replacement orders. Every use case that touches a return locks its order's projection first:
the order's credits (what its returns were paid back so far) are read and written under that
lock, so two returns of one order never both spend the same money."""

from __future__ import annotations

from uuid import UUID, uuid4

from services.returns.domain import commands
from services.returns.domain.errors import (
    SELF_SERVICE_NOT_FOUND,
    OrderNotFound,
    unknown_order,
)
from services.returns.domain.money import OrderCredits
from services.returns.domain.opening import ReturnWish, open_return
from services.returns.domain.order import KnownOrder
from services.returns.service_layer.handlers.common import locked, save
from services.returns.service_layer.unit_of_work import UnitOfWork

SCOPE_OPEN = "returns-create"
SCOPE_RECEIVE = "returns-receive"

# --- opening and reviewing -----------------------------------------------------------------


async def open_return_(cmd: commands.OpenReturn, uow: UnitOfWork) -> UUID:
    prior = await uow.idempotency.replayed(
        scope=SCOPE_OPEN, key=cmd.idempotency_key, fingerprint=cmd.fingerprint
    )
    if prior is not None:
        return UUID(prior.resource_id)
    order, credits = await _order(uow, cmd)
    earlier = await uow.returns.of_order(order.order_id)
    policy, _ = await uow.policies.current()
    wish = ReturnWish(
        return_id=uuid4(),
        rma_number=await uow.returns.next_rma_number(),
        lines=cmd.lines,
        method=cmd.method,
        resolution=cmd.resolution,
        location_code=cmd.location_code,
    )
    rma = open_return(wish, order, earlier, policy, credits, uow.clock.now())
    await uow.returns.add(rma)
    await uow.orders.save_credits(order.order_id, credits)
    await uow.idempotency.complete(resource_id=str(rma.id), status=201)
    return rma.id


async def _order(uow: UnitOfWork, cmd: commands.OpenReturn) -> tuple[KnownOrder, OrderCredits]:
    """The order, locked: named by id (staff) or by number and proven by e-mail (customers);
    a wrong e-mail is answered exactly like an unknown order."""
    order_id = cmd.order_id
    if order_id is None:
        order_id = await uow.orders.customer_order(cmd.order_number or "", cmd.email or "")
        if order_id is None:
            raise OrderNotFound(SELF_SERVICE_NOT_FOUND)
    found = await uow.orders.get_for_update(order_id)
    if found is None:
        raise unknown_order(order_id)
    return found


async def review_return(cmd: commands.ReviewReturn, uow: UnitOfWork) -> None:
    rma, order, credits = await locked(uow, cmd.return_id)
    now = uow.clock.now()
    if cmd.approve:
        rma.approve(order, credits, now)
    else:
        rma.reject(cmd.reason or "rejected on review", now)
    await save(uow, rma, order, credits)


async def drop_off(cmd: commands.DropOffReturn, uow: UnitOfWork) -> None:
    rma, order, credits = await locked(uow, cmd.return_id)
    rma.drop_off(order, credits, uow.clock.now())
    await save(uow, rma, order, credits)


async def receive(cmd: commands.ReceiveReturn, uow: UnitOfWork) -> UUID:
    """Inspected units arrived; the Idempotency-Key names the receipt, so a repeated request
    records it once."""
    prior = await uow.idempotency.replayed(
        scope=SCOPE_RECEIVE, key=cmd.idempotency_key, fingerprint=cmd.fingerprint
    )
    if prior is not None:
        return UUID(prior.resource_id)
    rma, order, credits = await locked(uow, cmd.return_id)
    receipt = rma.receive(uuid4(), cmd.location_code, cmd.lines, order, credits, uow.clock.now())
    await save(uow, rma, order, credits)
    await uow.idempotency.complete(resource_id=str(receipt.id), status=200)
    return receipt.id


# --- answers -------------------------------------------------------------------------------


async def record_refund_outcome(cmd: commands.RecordRefundOutcome, uow: UnitOfWork) -> None:
    """Orchestration paid (or could not pay) a refund this service asked for."""
    ours = await uow.returns.of_refund(cmd.refund_id)
    if ours is None:
        return  # a refund someone else asked for
    rma, order, credits = await locked(uow, ours[0])
    rma.refund_settled(cmd.refund_id, cmd.succeeded, cmd.reason, credits, uow.clock.now())
    await save(uow, rma, order, credits)


async def retry_refunds(cmd: commands.RetryRefunds, uow: UnitOfWork) -> None:
    rma, order, credits = await locked(uow, cmd.return_id)
    rma.retry_refunds(order, credits, uow.clock.now())
    await save(uow, rma, order, credits)


async def record_exchange_order(cmd: commands.RecordExchangeOrder, uow: UnitOfWork) -> None:
    rma, order, credits = await locked(uow, cmd.return_id)
    now = uow.clock.now()
    if cmd.order_id is not None:
        rma.exchange_placed(cmd.order_id, now)
    else:
        rma.exchange_failed(cmd.error or "order-capture refused the replacement order", now)
    await save(uow, rma, order, credits)
