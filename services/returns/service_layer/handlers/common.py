"""What every use case on a return starts and ends with: its order locked, then saved."""

from __future__ import annotations

from uuid import UUID

from services.returns.domain.errors import (
    ReturnNotFound,
)
from services.returns.domain.money import OrderCredits
from services.returns.domain.order import KnownOrder
from services.returns.domain.rma import ReturnRequest
from services.returns.service_layer.unit_of_work import UnitOfWork


async def locked(
    uow: UnitOfWork, return_id: UUID
) -> tuple[ReturnRequest, KnownOrder, OrderCredits]:
    order_id = await uow.returns.order_of(return_id)
    found = await uow.orders.get_for_update(order_id) if order_id else None
    if order_id is None or found is None:
        raise ReturnNotFound(f"no return {return_id}")
    order, credits = found
    rma = next((r for r in await uow.returns.of_order(order_id) if r.id == return_id), None)
    if rma is None:
        raise ReturnNotFound(f"no return {return_id}")
    return rma, order, credits


async def save(
    uow: UnitOfWork, rma: ReturnRequest, order: KnownOrder, credits: OrderCredits
) -> None:
    await uow.returns.save(rma)
    await uow.orders.save_credits(order.order_id, credits)
