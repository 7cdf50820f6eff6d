"""Read-side SQL for the GET endpoints: rows in, response models out, no aggregates."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from libs.http.pagination import decode_cursor, encode_cursor
from libs.money import display_amount
from services.order_capture.adapters.tables import order_line, sales_order
from services.order_capture.api.schemas import (
    CustomerRead,
    OrderLineRead,
    OrderPage,
    OrderRead,
)


async def get_order(session: AsyncSession, order_id: UUID) -> OrderRead | None:
    row = (
        await session.execute(select(sales_order).where(sales_order.c.id == order_id))
    ).one_or_none()
    if row is None:
        return None
    lines = await _lines_of(session, [row.id])
    return _to_read(row, lines[row.id])


async def list_orders(
    session: AsyncSession, *, status: str | None, limit: int, cursor: str | None
) -> OrderPage:
    query = select(sales_order).order_by(sales_order.c.created_at.desc(), sales_order.c.id.desc())
    if status:
        query = query.where(sales_order.c.status == status)
    if cursor:
        created_at, order_id = decode_cursor(cursor, arity=2)
        query = query.where(
            tuple_(sales_order.c.created_at, sales_order.c.id)
            < (datetime.fromisoformat(created_at), UUID(order_id))
        )
    rows = (await session.execute(query.limit(limit + 1))).all()
    page, more = rows[:limit], len(rows) > limit
    lines = await _lines_of(session, [r.id for r in page])
    next_cursor = (
        encode_cursor([page[-1].created_at.isoformat(), str(page[-1].id)]) if more else None
    )
    return OrderPage(items=[_to_read(r, lines[r.id]) for r in page], next_cursor=next_cursor)


async def _lines_of(session: AsyncSession, order_ids: list[UUID]) -> dict[UUID, list[Row[Any]]]:
    grouped: dict[UUID, list[Row[Any]]] = defaultdict(list)
    if not order_ids:
        return grouped
    rows = await session.execute(
        select(order_line)
        .where(order_line.c.order_id.in_(order_ids))
        .order_by(order_line.c.order_id, order_line.c.position)
    )
    for line in rows:
        grouped[line.order_id].append(line)
    return grouped


def _to_read(row: Row[Any], lines: list[Row[Any]]) -> OrderRead:
    return OrderRead(
        id=row.id,
        order_number=row.order_number,
        channel=row.channel,
        channel_order_ref=row.channel_order_ref,
        status=row.status,
        currency=row.currency,
        customer=CustomerRead(email=row.customer_email, name=row.customer_name),
        lines=[
            OrderLineRead(
                id=ln.id,
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=display_amount(ln.unit_price),
                line_total=display_amount(ln.unit_price * ln.quantity),
            )
            for ln in lines
        ],
        total_amount=display_amount(row.total_amount),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
