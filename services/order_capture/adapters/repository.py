"""Loads and saves Order aggregates; all aggregate SQL of order-capture lives here."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.order_capture.adapters.tables import order_line, order_number_seq, sales_order
from services.order_capture.domain.errors import DuplicateChannelOrder
from services.order_capture.domain.model import Order, OrderLine, OrderStatus


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.seen: list[Order] = []

    async def next_order_number(self) -> str:
        value = await self._session.scalar(order_number_seq.next_value())
        return f"OMS-{value:08d}"

    async def find_id_by_channel_ref(self, *, channel: str, channel_order_ref: str) -> UUID | None:
        return await self._session.scalar(
            select(sales_order.c.id).where(
                sales_order.c.channel == channel,
                sales_order.c.channel_order_ref == channel_order_ref,
            )
        )

    async def add(self, order: Order) -> None:
        try:
            await self._session.execute(
                insert(sales_order).values(
                    id=order.id,
                    order_number=order.order_number,
                    channel=order.channel,
                    channel_order_ref=order.channel_order_ref,
                    currency=order.currency,
                    customer_email=order.customer_email,
                    customer_name=order.customer_name,
                    status=order.status.value,
                    total_amount=order.total_amount,
                    created_at=order.created_at,
                    updated_at=order.updated_at,
                    version=order.version,
                )
            )
        except IntegrityError as exc:
            # Two concurrent requests with one channel reference: the unique constraint decides.
            raise DuplicateChannelOrder(
                f"channel {order.channel!r} already has order {order.channel_order_ref!r}"
            ) from exc
        await self._session.execute(
            insert(order_line),
            [
                {
                    "id": line.id,
                    "order_id": order.id,
                    "position": position,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for position, line in enumerate(order.lines, start=1)
            ],
        )
        self.seen.append(order)

    async def get_for_update(self, order_id: UUID) -> Order | None:
        row = (
            await self._session.execute(
                select(sales_order).where(sales_order.c.id == order_id).with_for_update()
            )
        ).one_or_none()
        if row is None:
            return None
        lines = (
            await self._session.execute(
                select(order_line)
                .where(order_line.c.order_id == order_id)
                .order_by(order_line.c.position)
            )
        ).all()
        order = Order(
            id=row.id,
            order_number=row.order_number,
            channel=row.channel,
            channel_order_ref=row.channel_order_ref,
            currency=row.currency,
            customer_email=row.customer_email,
            customer_name=row.customer_name,
            lines=[
                OrderLine(id=ln.id, sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price)
                for ln in lines
            ],
            status=OrderStatus(row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )
        self.seen.append(order)
        return order

    async def save_status(self, order: Order) -> None:
        await self._session.execute(
            update(sales_order)
            .where(sales_order.c.id == order.id)
            .values(status=order.status.value, updated_at=order.updated_at, version=order.version)
        )
