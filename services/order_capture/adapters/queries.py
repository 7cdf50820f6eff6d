"""Read-side SQL for the GET endpoints: rows in, read models out (defined here), no aggregates.

The read models hold the rows as stored; the routes turn them into response schemas (api),
which this module never imports.

Every query of an order takes the caller's `channels` claim and narrows by it in the SQL
itself, so an order of another channel is exactly as absent as one that never existed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Row, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.narrowing import within
from libs.db.pagination import Keyset, by_datetime, by_int, by_uuid
from libs.self_service import email_proves_order
from services.order_capture.adapters.tables import (
    order_line,
    order_shipment,
    sales_order,
    timeline_entry,
)

Channels = frozenset[str] | None
"""A caller's channels claim: `None` is not narrowed (back office, another service)."""

T = TypeVar("T")


@dataclass(frozen=True)
class OrderView:
    """An order as stored: its sales_order row, its order_line rows (by position) and its
    order_shipment rows (by shipping time); a row is read by attribute (`row.currency`)."""

    order: Any
    lines: Sequence[Any]
    shipments: Sequence[Any]


@dataclass(frozen=True)
class SelfServiceView:
    """What self-service shows of an order: its status, its line rows and shipment rows."""

    order_number: str
    status: str
    lines: Sequence[Any]
    shipments: Sequence[Any]


@dataclass(frozen=True)
class PageOf(Generic[T]):
    """One page of a keyset-paginated list and the cursor of the next (None: the last)."""

    items: Sequence[T]
    next_cursor: str | None


ORDERS = Keyset(by_datetime(sales_order.c.created_at), by_uuid(sales_order.c.id), descending=True)
"""Orders newest first; the id breaks ties between orders placed in the same microsecond."""

TIMELINE = Keyset(by_int(timeline_entry.c.seq))
"""An order's timeline oldest first: `seq` is the order it was recorded in."""


def visible_to(channels: Channels) -> ColumnElement[bool]:
    """The WHERE clause that keeps the orders of the caller's channels. An empty claim sees
    nothing (`IN ()` is false); no claim at all sees every order."""
    return within(sales_order.c.channel, channels)


async def get_order(
    session: AsyncSession, order_id: UUID, *, channels: Channels
) -> OrderView | None:
    return await _one(
        session, select(sales_order).where(sales_order.c.id == order_id, visible_to(channels))
    )


async def get_order_by_number(
    session: AsyncSession, order_number: str, *, channels: Channels
) -> OrderView | None:
    return await _one(
        session,
        select(sales_order).where(sales_order.c.order_number == order_number, visible_to(channels)),
    )


async def list_orders(
    session: AsyncSession,
    *,
    channels: Channels,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    channel: str | None = None,
    customer_email: str | None = None,
    channel_order_ref: str | None = None,
    sku: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> PageOf[OrderView]:
    query = select(sales_order).where(visible_to(channels))
    if status:
        query = query.where(sales_order.c.status == status)
    if channel:
        query = query.where(sales_order.c.channel == channel)
    if customer_email:
        query = query.where(
            func.lower(sales_order.c.customer_email) == customer_email.strip().lower()
        )
    if channel_order_ref:
        query = query.where(sales_order.c.channel_order_ref == channel_order_ref)
    if sku:
        query = query.where(
            exists().where(order_line.c.order_id == sales_order.c.id, order_line.c.sku == sku)
        )
    if created_from:
        query = query.where(sales_order.c.created_at >= created_from)
    if created_to:
        query = query.where(sales_order.c.created_at < created_to)
    page, next_cursor = await ORDERS.page(session, query, limit=limit, cursor=cursor)
    ids = [r.id for r in page]
    lines, shipments = await _lines_of(session, ids), await _shipments_of(session, ids)
    return PageOf(
        items=[OrderView(r, lines[r.id], shipments[r.id]) for r in page], next_cursor=next_cursor
    )


async def order_exists(session: AsyncSession, order_id: UUID, *, channels: Channels) -> bool:
    """Whether the order exists and the caller sees it: the check before a change (an order's
    channel never changes, so what this says holds until the change commits)."""
    return bool(
        await session.scalar(
            select(exists().where(sales_order.c.id == order_id, visible_to(channels)))
        )
    )


async def timeline(
    session: AsyncSession, order_id: UUID, *, channels: Channels, limit: int, cursor: str | None
) -> PageOf[Row[Any]]:
    """Oldest first: the order's story in the order it was recorded."""
    t = timeline_entry
    query = (
        select(t)
        .join(sales_order, sales_order.c.id == t.c.order_id)
        .where(t.c.order_id == order_id, visible_to(channels))
    )
    page, next_cursor = await TIMELINE.page(session, query, limit=limit, cursor=cursor)
    return PageOf(items=page, next_cursor=next_cursor)


async def self_service_view(
    session: AsyncSession, order_number: str, email: str
) -> SelfServiceView | None:
    """None both for an unknown number and for a wrong e-mail, so neither can be told apart:
    the e-mail is compared (in constant time) in both cases. Self-service is the customer's,
    not a channel's: it is not narrowed."""
    row = (
        await session.execute(
            select(sales_order.c.id, sales_order.c.status, sales_order.c.customer_email).where(
                sales_order.c.order_number == order_number
            )
        )
    ).one_or_none()
    proven = email_proves_order(None if row is None else row.customer_email, email)
    if row is None or not proven:
        return None
    lines = (await _lines_of(session, [row.id]))[row.id]
    shipments = (await _shipments_of(session, [row.id]))[row.id]
    return SelfServiceView(
        order_number=order_number, status=row.status, lines=lines, shipments=shipments
    )


async def _one(session: AsyncSession, query: Select[Any]) -> OrderView | None:
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    lines = await _lines_of(session, [row.id])
    shipments = await _shipments_of(session, [row.id])
    return OrderView(row, lines[row.id], shipments[row.id])


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


async def _shipments_of(session: AsyncSession, order_ids: list[UUID]) -> dict[UUID, list[Row[Any]]]:
    grouped: dict[UUID, list[Row[Any]]] = defaultdict(list)
    if not order_ids:
        return grouped
    rows = await session.execute(
        select(order_shipment)
        .where(order_shipment.c.order_id.in_(order_ids))
        .order_by(order_shipment.c.shipped_at, order_shipment.c.shipment_id)
    )
    for shipment in rows:
        grouped[shipment.order_id].append(shipment)
    return grouped


def view_of_written(order: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> OrderView:
    """The view of rows just written, as a read of them would give it (a new order has no
    shipments)."""
    return OrderView(SimpleNamespace(**order), [SimpleNamespace(**line) for line in lines], [])
