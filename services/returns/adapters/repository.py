"""Returns' projection of orders; all its SQL lives here."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.returns.adapters.tables import known_order, known_order_line
from services.returns.domain.commands import ProjectPlacedOrder


class OrderProjection:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_if_new(self, order: ProjectPlacedOrder) -> None:
        inserted = await self._session.execute(
            pg_insert(known_order)
            .values(
                order_id=order.order_id,
                order_number=order.order_number,
                customer_email=order.customer_email,
                currency=order.currency,
                placed_at=order.placed_at,
            )
            .on_conflict_do_nothing()
            .returning(known_order.c.order_id)
        )
        if inserted.first() is None:
            return
        await self._session.execute(
            insert(known_order_line),
            [
                {
                    "line_id": ln.line_id,
                    "order_id": order.order_id,
                    "sku": ln.sku,
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price,
                }
                for ln in order.lines
            ],
        )
