"""Read-side SQL for the returns API: one return, lists, self-service and analytics.

A return belongs to its order's channel. Every query a caller's request runs takes the
caller's `channels` claim and filters by it in SQL (`None`: not narrowed), so a return of
another channel is never read: the edge answers it exactly like a missing one."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.narrowing import within
from libs.http.pagination import decode_cursor, encode_cursor
from libs.money import display_amount, minor_units
from services.returns.adapters import mappers
from services.returns.adapters.tables import (
    known_order,
    known_order_line,
    refund,
    return_line,
    return_request,
)
from services.returns.api.schemas import (
    AnalyticsRead,
    ExchangeRead,
    LabelRead,
    RateRead,
    ReceiptRead,
    RefundRead,
    ReturnLineRead,
    ReturnPage,
    ReturnRead,
    TimelineRead,
)
from services.returns.domain.rma import ReturnRequest

Channels = frozenset[str] | None


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


def _money(amount: Decimal, currency: str) -> Decimal:
    return display_amount(amount, minor_units(currency))


def return_read(r: ReturnRequest) -> ReturnRead:
    cur = r.currency
    res = r.resolution
    return ReturnRead(
        id=r.id,
        rma_number=r.rma_number,
        order_id=r.order_id,
        status=r.status.value,
        method=r.method.value,
        location_code=r.location_code,
        resolution={"type": res.kind.value}
        | ({"replacement_sku": res.replacement_sku} if res.replacement_sku else {}),
        currency=cur,
        policy_version=r.policy.version,
        lines=[
            ReturnLineRead(
                line_id=ln.line_id,
                sku=ln.sku,
                quantity=ln.quantity,
                reason=ln.reason.value,
                comment=ln.comment,
                received={c.value: n for c, n in ln.received.items()},
                settled=ln.settled,
            )
            for ln in r.lines
        ],
        label=LabelRead(
            carrier=r.label.carrier,
            service=r.label.service,
            tracking_number=r.label.tracking_number,
            paid_by=r.label.paid_by.value,
        )
        if r.label
        else None,
        receipts=[
            ReceiptRead(
                id=rc.id,
                location_code=rc.location_code,
                lines=[
                    {
                        "line_id": str(x.line_id),
                        "quantity": x.quantity,
                        "condition": x.condition.value,
                        "disposition": x.disposition.value,
                    }
                    for x in rc.lines
                ],
                received_at=rc.at,
            )
            for rc in r.receipts
        ],
        refunds=[
            RefundRead(
                id=f.id,
                method=f.method,
                status=f.status.value,
                amount=_money(f.amount, cur),
                breakdown=f.quote.as_dict(),
                requested_at=f.requested_at,
                settled_at=f.settled_at,
                reason=f.reason,
            )
            for f in r.refunds
        ],
        refunded_amount=_money(r.refunded_amount, cur),
        exchange=ExchangeRead(
            replacement_sku=r.exchange.sku,
            quantity=r.exchange.units,
            unit_price=_money(r.exchange.unit_price, cur),
            credit=_money(r.exchange.credit, cur),
            difference=_money(r.exchange.difference, cur),
            status=r.exchange.status,
            order_id=r.exchange.order_id,
            reason=r.exchange.reason,
        )
        if r.exchange
        else None,
        rejection_reason=r.rejection_reason,
        timeline=[TimelineRead(at=t.at, name=t.name, detail=t.detail) for t in r.timeline],
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


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


async def list_returns(
    session: AsyncSession,
    *,
    order_id: UUID | None,
    status: str | None,
    limit: int,
    cursor: str | None,
    channels: Channels,
) -> ReturnPage:
    """Newest first, keyset on (created_at, id); only the returns of `channels`' orders."""
    query = select(return_request).where(order_visible(return_request.c.order_id, channels))
    if order_id is not None:
        query = query.where(return_request.c.order_id == order_id)
    if status is not None:
        query = query.where(return_request.c.status == status)
    if cursor:
        created, rid = decode_cursor(cursor, arity=2)
        query = query.where(
            tuple_(return_request.c.created_at, return_request.c.id)
            < (datetime.fromisoformat(created), UUID(rid))
        )
    rows = (
        await session.execute(
            query.order_by(return_request.c.created_at.desc(), return_request.c.id.desc()).limit(
                limit + 1
            )
        )
    ).all()
    items = [return_read(mappers.return_from(r)) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    return ReturnPage(items=items, next_cursor=next_cursor)


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


async def analytics(session: AsyncSession, *, channels: Channels) -> AnalyticsRead:
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

    async def rates(column: str, delivered: dict[str, int] | None) -> list[RateRead]:
        col = returned.c[column]
        rows = await session.execute(
            select(col, func.sum(returned.c.quantity)).group_by(col).order_by(col)
        )
        out = []
        for key, units in rows:
            # By reason, every delivered unit could have been returned for it.
            base = delivered.get(key, 0) if delivered is not None else int(delivered_total)
            out.append(
                RateRead(
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
    return AnalyticsRead(
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
