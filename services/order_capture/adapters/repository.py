"""Loads and saves Order aggregates; all aggregate SQL of order-capture lives here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import Table, TextClause, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.arrays import column_arrays, types_of, unnest_insert, unnest_update
from libs.db.driver import execute, fetch, fields
from services.order_capture.adapters.tables import (
    LINE_BUCKETS,
    order_line,
    order_number_seq,
    order_shipment,
    sales_order,
    timeline_entry,
)
from services.order_capture.domain.errors import DuplicateChannelOrder
from services.order_capture.domain.model import Order, OrderLine
from services.order_capture.domain.quantities import LineQuantities
from services.order_capture.domain.status import OrderStatus
from services.order_capture.domain.values import (
    Address,
    Channel,
    Customer,
    Delivery,
    DeliveryMethod,
    Payment,
    Priority,
    ServiceLevel,
    Shipment,
)
from services.order_capture.service_layer.unit_of_work import TimelineEntry


class OrderRepository:
    """Orders loaded for update are kept for the unit of work (a consumer's batch may bring
    several reports about one order: the second sees what the first changed), and what is
    saved is written once, at commit, every order of the batch in one statement per table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.seen: list[Order] = []
        self._locked: dict[UUID, Order | None] = {}  # loaded FOR UPDATE (None: no such order)
        self._dirty: dict[UUID, Order] = {}
        self._timeline: list[dict[str, Any]] = []

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

    async def find_customer_email_by_number(self, order_number: str) -> tuple[UUID, str] | None:
        """The order's id and customer e-mail, for self-service to check its proof against
        before it loads (and locks) anything."""
        row = (
            await self._session.execute(
                select(sales_order.c.id, sales_order.c.customer_email).where(
                    sales_order.c.order_number == order_number
                )
            )
        ).one_or_none()
        return None if row is None else (row.id, row.customer_email)

    async def add(self, order: Order) -> None:
        inserted = await self._session.scalar(
            pg_insert(sales_order)
            .values(**order_row(order))
            .on_conflict_do_nothing(index_elements=["channel", "channel_order_ref"])
            .returning(sales_order.c.id)
        )
        if inserted is None:
            # A concurrent request with the same channel reference committed first; the unique
            # constraint decides (waiting for it), and this request learns the winner's id.
            existing = await self.find_id_by_channel_ref(
                channel=order.channel, channel_order_ref=order.channel_order_ref
            )
            raise DuplicateChannelOrder(
                f"channel {order.channel.value!r} already placed order {order.channel_order_ref!r}",
                existing_order_id=str(existing),
            )
        await self._session.execute(insert(order_line), line_rows(order))
        self.seen.append(order)

    async def get_for_update(self, order_id: UUID) -> Order | None:
        """The order, locked until commit: changes to one order are applied one at a time."""
        if order_id not in self._locked:
            await self.lock_many([order_id])
        return self._locked[order_id]

    async def lock_many(self, order_ids: Iterable[UUID]) -> None:
        """Loads and locks these orders (in id order, as every batch locks them), three
        statements for all of them: a consumer's batch loads its orders up front."""
        wanted = sorted(set(order_ids) - set(self._locked))
        if not wanted:
            return
        # Fixed texts on the driver (libs.db.driver): a consumer's every batch runs them.
        rows = [fields(r) for r in await fetch(self._session, _LOCK_ORDERS, {"ids": wanted})]
        found = [row.id for row in rows]
        lines: dict[UUID, list[Any]] = {order_id: [] for order_id in found}
        shipments: dict[UUID, list[Any]] = {order_id: [] for order_id in found}
        if found:
            for record in await fetch(self._session, _LINES_OF, {"ids": found}):
                line = fields(record)
                lines[line.order_id].append(line)
            for record in await fetch(self._session, _SHIPMENTS_OF, {"ids": found}):
                shipment = fields(record)
                shipments[shipment.order_id].append(shipment)
        self._locked.update(dict.fromkeys(wanted))
        for row in rows:
            order = _order_from(row, lines[row.id], shipments[row.id])
            self._locked[row.id] = order
            self.seen.append(order)

    async def save(self, order: Order) -> None:
        """Written at commit (flush): a batch writes each order it changed once."""
        self._dirty[order.id] = order

    async def flush(self) -> None:
        """Every saved order, its lines and shipments: one statement per table."""
        if not self._dirty:
            return
        orders, self._dirty = list(self._dirty.values()), {}
        rows = []
        for order in orders:
            row = order_row(order)
            for fixed in ("order_number", "channel", "channel_order_ref", "created_at"):
                row.pop(fixed)
            rows.append(row)
        # Each table's rows as one statement of column arrays (libs.db.arrays): a batch's
        # orders and lines cost one statement each, not a row's worth of parameters each.
        await execute(self._session, *_updates(sales_order, rows))
        lines = [
            {"id": line.id, **{b: getattr(line.quantities, b) for b in LINE_BUCKETS}}
            for order in orders
            for line in order.lines
        ]
        await execute(self._session, *_updates(order_line, lines))
        shipped = [{"order_id": o.id, **asdict(s)} for o in orders for s in o.shipments]
        if shipped:
            stmt = pg_insert(order_shipment).values(shipped)
            await self._session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["order_id", "shipment_id"],
                    set_={"delivered_at": stmt.excluded.delivered_at},
                )
            )

    def stage_timeline(self, order: Order, entry: TimelineEntry) -> None:
        """A timeline entry of one of this unit of work's orders, written at commit
        (write_timeline) with the rest of the batch's."""
        self._timeline.append(timeline_row(order, entry))

    async def write_timeline(self) -> None:
        rows, self._timeline = self._timeline, []
        if rows:
            columns = types_of(timeline_entry, rows[0])
            await execute(
                self._session,
                _insert(timeline_entry.name, tuple(columns.items())),
                column_arrays(rows, columns),
            )


def _updates(table: Table, rows: Sequence[dict[str, Any]]) -> tuple[TextClause, dict[str, Any]]:
    """The statement updating these rows of the table by id, and its parameters."""
    columns = types_of(table, rows[0])
    return _update(table.name, tuple(columns.items())), column_arrays(rows, columns)


_LOCK_ORDERS = text(
    "SELECT * FROM sales_order WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE"
)
_LINES_OF = text(
    "SELECT * FROM order_line WHERE order_id = ANY(CAST(:ids AS uuid[]))"
    " ORDER BY order_id, position"
)
_SHIPMENTS_OF = text(
    "SELECT * FROM order_shipment WHERE order_id = ANY(CAST(:ids AS uuid[])) ORDER BY shipped_at"
)


@cache
def _update(table: str, columns: tuple[tuple[str, str], ...]) -> TextClause:
    return unnest_update(table, "id", dict(columns))


@cache
def _insert(table: str, columns: tuple[tuple[str, str], ...]) -> TextClause:
    return unnest_insert(table, dict(columns))


def timeline_row(order: Order, entry: TimelineEntry) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "occurred_at": entry.occurred_at,
        "source": entry.source,
        "reason": entry.reason,
        "event_sequence": entry.event_sequence,
        "previous_status": entry.previous_status,
        "status": entry.status,
        "details": entry.details,
        "kind": entry.kind,
    }


def line_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "id": line.id,
            "order_id": order.id,
            "position": position,
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_amount": line.discount_amount,
            "tax_amount": line.tax_amount,
            **{b: getattr(line.quantities, b) for b in LINE_BUCKETS},
        }
        for position, line in enumerate(order.lines, start=1)
    ]


def _address_dict(address: Address | None) -> dict[str, Any] | None:
    return None if address is None else address.as_dict()


def order_row(order: Order) -> dict[str, Any]:
    totals = order.totals
    return {
        "id": order.id,
        "order_number": order.order_number,
        "channel": order.channel.value,
        "channel_order_ref": order.channel_order_ref,
        "currency": order.currency,
        "customer_id": order.customer.id,
        "customer_email": order.customer.email,
        "customer_name": order.customer.name,
        "customer_phone": order.customer.phone,
        "shipping_address": _address_dict(order.shipping_address),
        "billing_address": _address_dict(order.billing_address),
        "delivery_method": order.delivery.method.value,
        "service_level": order.delivery.service_level.value,
        "pickup_location_code": order.delivery.pickup_location_code,
        "payment": {
            "method": order.payment.method,
            "amount": str(order.payment.amount),
            "token": order.payment.token,
            "authorization_ref": order.payment.authorization_ref,
        },
        "status": order.status.value,
        "subtotal": totals.subtotal,
        "discount_total": totals.discount_total,
        "tax_total": totals.tax_total,
        "shipping_amount": totals.shipping_amount,
        "grand_total": totals.grand_total,
        "refunded_amount": order.refunded_amount,
        "requested_delivery_date": order.requested_delivery_date,
        "tags": list(order.tags),
        "metadata": order.metadata,
        "notes": order.notes,
        "priority": order.priority.value,
        "on_hold": order.on_hold,
        "closed": order.closed,
        "applied_facts": sorted(order.applied_facts),
        "event_sequence": order.event_sequence,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "version": order.version,
    }


def _address_from(data: dict[str, Any] | None) -> Address | None:
    return None if data is None else Address(**data)


def _order_from(row: Any, lines: Sequence[Any], shipments: Sequence[Any]) -> Order:
    """An order from its rows (SQLAlchemy's, or the driver's read through `fields`)."""
    shipping_address = _address_from(row.shipping_address)
    assert shipping_address is not None  # NOT NULL column
    return Order(
        id=row.id,
        order_number=row.order_number,
        channel=Channel(row.channel),
        channel_order_ref=row.channel_order_ref,
        currency=row.currency,
        customer=Customer(
            id=row.customer_id,
            email=row.customer_email,
            name=row.customer_name,
            phone=row.customer_phone,
        ),
        shipping_address=shipping_address,
        billing_address=_address_from(row.billing_address),
        delivery=Delivery(
            method=DeliveryMethod(row.delivery_method),
            service_level=ServiceLevel(row.service_level),
            pickup_location_code=row.pickup_location_code,
        ),
        payment=Payment(
            method=row.payment["method"],
            amount=Decimal(row.payment["amount"]),
            token=row.payment.get("token"),
            authorization_ref=row.payment.get("authorization_ref"),
        ),
        shipping_amount=row.shipping_amount,
        lines=[
            OrderLine(
                id=ln.id,
                sku=ln.sku,
                name=ln.name,
                unit_price=ln.unit_price,
                discount_amount=ln.discount_amount,
                tax_amount=ln.tax_amount,
                quantities=LineQuantities(
                    ordered=ln.quantity, **{b: getattr(ln, b) for b in LINE_BUCKETS}
                ),
            )
            for ln in lines
        ],
        requested_delivery_date=row.requested_delivery_date,
        tags=tuple(row.tags),
        metadata=dict(row.metadata),
        notes=row.notes,
        priority=Priority(row.priority),
        status=OrderStatus(row.status),
        on_hold=row.on_hold,
        closed=row.closed,
        shipments=[
            Shipment(
                shipment_id=s.shipment_id,
                carrier=s.carrier,
                tracking_number=s.tracking_number,
                tracking_url=s.tracking_url,
                shipped_at=s.shipped_at,
                delivered_at=s.delivered_at,
            )
            for s in shipments
        ],
        refunded_amount=row.refunded_amount,
        applied_facts=set(row.applied_facts),
        event_sequence=row.event_sequence,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )
