"""Read-side SQL for the returns API: one return, lists, self-service and analytics.

The queries return the adapters' own read models (the domain's return, the page and analytics
dataclasses below), never the API's schemas: the routes turn them into responses.

A return belongs to its order's channel. Every query a caller's request runs takes the
caller's `channels` claim and filters by it in SQL (`None`: not narrowed), so a return of
another channel is never read: the edge answers it exactly like a missing one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.narrowing import within
from libs.db.pagination import Keyset, by_datetime, by_uuid
from services.returns.adapters import mappers
from services.returns.adapters.tables import (
    known_order,
    known_order_line,
    refund,
    return_line,
    return_request,
)
from services.returns.domain.rma import ReturnRequest

Channels = frozenset[str] | None


@dataclass(frozen=True)
class ReturnsPage:
    """One page of returns, newest first; `next_cursor` reads on from its last one."""

    items: list[ReturnRequest]
    next_cursor: str | None


@dataclass(frozen=True)
class Rate:
    """Units returned of one reason, SKU or channel, per unit delivered."""

    key: str
    returned_units: int
    delivered_units: int
    rate: float


@dataclass(frozen=True)
class Analytics:
    returns: int
    returned_units: int
    delivered_units: int
    by_reason: list[Rate]
    by_sku: list[Rate]
    by_channel: list[Rate]
    average_hours_to_refund: float | None


def channel_visible(channels: Channels) -> ColumnElement[bool]:
    """The WHERE clause on `known_order` for a caller's channels claim (None: every order)."""
    return within(known_order.c.channel, channels)


def order_visible(order_id: ColumnElement[Any], channels: Channels) -> ColumnElement[bool]:
    """The WHERE clause for anything that names its order (a return, a line, a refund): its
    order is of one of the caller's channels (None: every order)."""
    if channels is None:
        return true()
    # Never correlated, so it stays right in a query that reads `known_order` itself.
    visible = select(known_order.c.order_id).where(channel_visible(channels)).correlate(None)
    return order_id.in_(visible)


async def order_is_visible(session: AsyncSession, order_id: UUID, channels: Channels) -> bool:
    """Whether the order exists and is of one of the caller's channels."""
    found = await session.scalar(
        select(known_order.c.order_id).where(
            known_order.c.order_id == order_id, channel_visible(channels)
        )
    )
    return found is not None


async def get_return(
    session: AsyncSession, return_id: UUID, *, channels: Channels
) -> ReturnRequest | None:
    """The return, if it exists and its order is of one of `channels`."""
    row = (
        await session.execute(
            select(return_request).where(
                return_request.c.id == return_id,
                order_visible(return_request.c.order_id, channels),
            )
        )
    ).one_or_none()
    return mappers.return_from(row) if row is not None else None


RETURNS = Keyset(
    by_datetime(return_request.c.created_at), by_uuid(return_request.c.id), descending=True
)
"""Returns newest first."""


async def list_returns(
    session: AsyncSession,
    *,
    order_id: UUID | None,
    status: str | None,
    limit: int,
    cursor: str | None,
    channels: Channels,
) -> ReturnsPage:
    """Newest first, keyset on (created_at, id); only the returns of `channels`' orders."""
    query = select(return_request).where(order_visible(return_request.c.order_id, channels))
    if order_id is not None:
        query = query.where(return_request.c.order_id == order_id)
    if status is not None:
        query = query.where(return_request.c.status == status)
    rows, next_cursor = await RETURNS.page(session, query, limit=limit, cursor=cursor)
    items = [mappers.return_from(r) for r in rows]
    return ReturnsPage(items=items, next_cursor=next_cursor)


async def sender_of(session: AsyncSession, order_id: UUID) -> tuple[str, ...]:
    """The customer's address lines, as the return label's sender."""
    row = (
        await session.execute(
            select(known_order.c.shipping_address, known_order.c.customer_name).where(
                known_order.c.order_id == order_id
            )
        )
    ).one()
    a = row.shipping_address
    lines = (
        a.get("name") or row.customer_name,
        a.get("line1"),
        a.get("line2"),
        f"{a.get('postal_code', '')} {a.get('city', '')}".strip(),
        a.get("country"),
    )
    return tuple(x for x in lines if x)


async def analytics(session: AsyncSession, *, channels: Channels) -> Analytics:
    """Return rates: units returned (in returns not rejected) per unit delivered, by reason,
    SKU and channel; and the average time from the request to the first refund paid. Over
    the orders of `channels` only, deliveries and returns alike."""
    counted = return_request.c.status != "rejected"
    delivered_line = order_visible(known_order_line.c.order_id, channels)
    delivered_total = (
        await session.scalar(select(func.sum(known_order_line.c.delivered)).where(delivered_line))
    ) or 0
    returned = (
        select(return_line, known_order.c.channel)
        .join(return_request, return_request.c.id == return_line.c.return_id)
        .join(known_order, known_order.c.order_id == return_line.c.order_id)
        .where(counted, channel_visible(channels))
        .subquery()
    )
    delivered_by_sku = dict(
        (
            await session.execute(
                select(known_order_line.c.sku, func.sum(known_order_line.c.delivered))
                .where(delivered_line)
                .group_by(known_order_line.c.sku)
            )
        ).all()
    )
    delivered_by_channel = dict(
        (
            await session.execute(
                select(known_order.c.channel, func.sum(known_order_line.c.delivered))
                .join(known_order_line, known_order_line.c.order_id == known_order.c.order_id)
                .where(channel_visible(channels))
                .group_by(known_order.c.channel)
            )
        ).all()
    )

    async def rates(column: str, delivered: dict[str, int] | None) -> list[Rate]:
        col = returned.c[column]
        rows = await session.execute(
            select(col, func.sum(returned.c.quantity)).group_by(col).order_by(col)
        )
        out = []
        for key, units in rows:
            # By reason, every delivered unit could have been returned for it.
            base = delivered.get(key, 0) if delivered is not None else int(delivered_total)
            out.append(
                Rate(
                    key=key,
                    returned_units=int(units),
                    delivered_units=base,
                    rate=round(int(units) / base, 4) if base else 0.0,
                )
            )
        return out

    first_refund = (
        select(refund.c.return_id, func.min(refund.c.settled_at).label("paid_at"))
        .where(refund.c.status == "succeeded")
        .group_by(refund.c.return_id)
        .subquery()
    )
    avg_seconds = await session.scalar(
        select(
            func.avg(func.extract("epoch", first_refund.c.paid_at - return_request.c.created_at))
        )
        .join(first_refund, first_refund.c.return_id == return_request.c.id)
        .where(order_visible(return_request.c.order_id, channels))
    )
    totals = (
        await session.execute(
            select(func.count(func.distinct(returned.c.return_id)), func.sum(returned.c.quantity))
        )
    ).one()
    return Analytics(
        returns=int(totals[0] or 0),
        returned_units=int(totals[1] or 0),
        delivered_units=int(delivered_total),
        by_reason=await rates("reason", None),
        by_sku=await rates("sku", {k: int(v) for k, v in delivered_by_sku.items()}),
        by_channel=await rates("channel", {k: int(v) for k, v in delivered_by_channel.items()}),
        average_hours_to_refund=round(float(avg_seconds) / 3600, 2)
        if avg_seconds is not None
        else None,
    )
