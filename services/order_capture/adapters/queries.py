"""Read-side SQL for the GET endpoints: rows in, response models out, no aggregates.

Every query of an order takes the caller's `channels` claim and narrows by it in the SQL
itself, so an order of another channel is exactly as absent as one that never existed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Row, Select, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.narrowing import within
from libs.http.pagination import decode_cursor, encode_cursor
from libs.money import display_amount, minor_units
from libs.self_service import email_proves_order
from services.order_capture.adapters.tables import (
    LINE_BUCKETS,
    order_line,
    order_shipment,
    sales_order,
    timeline_entry,
)
from services.order_capture.api.schemas import (
    AddressRead,
    CustomerRead,
    DeliveryRead,
    LineQuantitiesRead,
    OrderLineRead,
    OrderPage,
    OrderRead,
    PaymentRead,
    SelfServiceLine,
    SelfServiceOrderRead,
    SelfServiceTracking,
    ShipmentRead,
    TimelineEntryRead,
    TimelinePage,
    TotalsRead,
)
from services.order_capture.domain.totals import line_total

Channels = frozenset[str] | None
"""A caller's channels claim: `None` is not narrowed (back office, another service)."""


def visible_to(channels: Channels) -> ColumnElement[bool]:
    """The WHERE clause that keeps the orders of the caller's channels. An empty claim sees
    nothing (`IN ()` is false); no claim at all sees every order."""
    return within(sales_order.c.channel, channels)


async def get_order(
    session: AsyncSession, order_id: UUID, *, channels: Channels
) -> OrderRead | None:
    return await _one(
        session, select(sales_order).where(sales_order.c.id == order_id, visible_to(channels))
    )


async def get_order_by_number(
    session: AsyncSession, order_number: str, *, channels: Channels
) -> OrderRead | None:
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
    sku: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> OrderPage:
    query = (
        select(sales_order)
        .where(visible_to(channels))
        .order_by(sales_order.c.created_at.desc(), sales_order.c.id.desc())
    )
    if status:
        query = query.where(sales_order.c.status == status)
    if channel:
        query = query.where(sales_order.c.channel == channel)
    if customer_email:
        query = query.where(
            func.lower(sales_order.c.customer_email) == customer_email.strip().lower()
        )
    if sku:
        query = query.where(
            exists().where(order_line.c.order_id == sales_order.c.id, order_line.c.sku == sku)
        )
    if created_from:
        query = query.where(sales_order.c.created_at >= created_from)
    if created_to:
        query = query.where(sales_order.c.created_at < created_to)
    if cursor:
        created_at, order_id = decode_cursor(cursor, arity=2)
        query = query.where(
            tuple_(sales_order.c.created_at, sales_order.c.id)
            < (datetime.fromisoformat(created_at), UUID(order_id))
        )
    rows = (await session.execute(query.limit(limit + 1))).all()
    page, more = rows[:limit], len(rows) > limit
    ids = [r.id for r in page]
    lines, shipments = await _lines_of(session, ids), await _shipments_of(session, ids)
    next_cursor = (
        encode_cursor([page[-1].created_at.isoformat(), str(page[-1].id)]) if more else None
    )
    return OrderPage(
        items=[_to_read(r, lines[r.id], shipments[r.id]) for r in page], next_cursor=next_cursor
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
) -> TimelinePage:
    """Oldest first: the order's story in the order it was recorded."""
    t = timeline_entry
    query = (
        select(t)
        .join(sales_order, sales_order.c.id == t.c.order_id)
        .where(t.c.order_id == order_id, visible_to(channels))
        .order_by(t.c.seq)
    )
    if cursor:
        (after,) = decode_cursor(cursor, arity=1)
        query = query.where(t.c.seq > int(after))
    rows = (await session.execute(query.limit(limit + 1))).all()
    page, more = rows[:limit], len(rows) > limit
    return TimelinePage(
        items=[
            TimelineEntryRead(
                at=r.occurred_at,
                source=r.source,
                kind=r.kind,
                reason=r.reason,
                previous_status=r.previous_status,
                status=r.status,
                event_sequence=r.event_sequence,
                details=r.details,
            )
            for r in page
        ],
        next_cursor=encode_cursor([page[-1].seq]) if more else None,
    )


async def self_service_view(
    session: AsyncSession, order_number: str, email: str
) -> SelfServiceOrderRead | None:
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
    return SelfServiceOrderRead(
        order_number=order_number,
        status=row.status,
        lines=[SelfServiceLine.model_validate(ln, from_attributes=True) for ln in lines],
        tracking=[SelfServiceTracking.model_validate(s, from_attributes=True) for s in shipments],
    )


async def _one(session: AsyncSession, query: Select[Any]) -> OrderRead | None:
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    lines = await _lines_of(session, [row.id])
    shipments = await _shipments_of(session, [row.id])
    return _to_read(row, lines[row.id], shipments[row.id])


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


def _address(data: dict[str, Any] | None) -> AddressRead | None:
    if data is None:
        return None
    return AddressRead.of_stored(data)


def read_of_written(order: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> OrderRead:
    """The response for rows just written, rendered as a read of them would be (a new order
    has no shipments)."""
    return _to_read(SimpleNamespace(**order), [SimpleNamespace(**line) for line in lines], [])


def _to_read(row: Any, lines: Sequence[Any], shipments: Sequence[Any]) -> OrderRead:
    units = minor_units(row.currency)

    def money(amount: Decimal) -> Decimal:
        return display_amount(amount, units)

    shipping_address = _address(row.shipping_address)
    assert shipping_address is not None  # NOT NULL column
    return OrderRead(
        id=row.id,
        order_number=row.order_number,
        channel=row.channel,
        channel_order_ref=row.channel_order_ref,
        status=row.status,
        currency=row.currency,
        customer=CustomerRead(
            id=row.customer_id,
            email=row.customer_email,
            name=row.customer_name,
            phone=row.customer_phone,
        ),
        shipping_address=shipping_address,
        billing_address=_address(row.billing_address),
        delivery=DeliveryRead(
            method=row.delivery_method,
            service_level=row.service_level,
            pickup_location_code=row.pickup_location_code,
        ),
        payment=PaymentRead(
            method=row.payment["method"],
            amount=money(Decimal(row.payment["amount"])),
            authorization_ref=row.payment.get("authorization_ref"),
        ),
        lines=[
            OrderLineRead(
                id=ln.id,
                sku=ln.sku,
                name=ln.name,
                quantity=ln.quantity,
                unit_price=money(ln.unit_price),
                discount_amount=money(ln.discount_amount),
                tax_amount=money(ln.tax_amount),
                line_total=money(line_total(ln)),
                quantities=LineQuantitiesRead(
                    ordered=ln.quantity, **{b: getattr(ln, b) for b in LINE_BUCKETS}
                ),
            )
            for ln in lines
        ],
        totals=TotalsRead(
            subtotal=money(row.subtotal),
            discount_total=money(row.discount_total),
            tax_total=money(row.tax_total),
            shipping_amount=money(row.shipping_amount),
            grand_total=money(row.grand_total),
            refunded=money(row.refunded_amount),
        ),
        requested_delivery_date=row.requested_delivery_date,
        tags=list(row.tags),
        metadata=dict(row.metadata),
        notes=row.notes,
        shipments=[ShipmentRead.model_validate(s, from_attributes=True) for s in shipments],
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
