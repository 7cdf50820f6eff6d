"""Returns' SQL for its use cases: the order projection, returns and their ledger rows, and the
versioned policy. Lock order, everywhere: the order first, then its returns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import versioned
from libs.db.arrays import column_arrays, types_of, unnest_insert
from libs.db.driver import execute, fetch
from libs.self_service import email_proves_order
from services.returns.adapters import mappers
from services.returns.adapters.tables import (
    known_order,
    known_order_line,
    refund,
    return_line,
    return_policy,
    return_request,
    rma_number_seq,
    seen_shipment,
)
from services.returns.domain.commands import ProjectPlacedOrder
from services.returns.domain.money import OrderCredits
from services.returns.domain.order import KnownOrder
from services.returns.domain.policy import ReturnPolicy
from services.returns.domain.rma import ReturnRequest

DEFAULT_POLICY = ReturnPolicy(version=1)


_LINE_COLUMNS = types_of(
    known_order_line,
    (
        "line_id",
        "order_id",
        "sku",
        "quantity",
        "unit_price",
        "discount_amount",
        "tax_amount",
        "name",
    ),
)
_INSERT_LINES = unnest_insert(known_order_line.name, _LINE_COLUMNS)
_ORDER_COLUMNS = types_of(
    known_order,
    (
        "order_id",
        "order_number",
        "customer_email",
        "customer_name",
        "channel",
        "currency",
        "placed_at",
        "shipping_amount",
        "grand_total",
        "tags",
        "shipping_address",
    ),
)
_ADD_ORDER = unnest_insert(
    known_order.name, _ORDER_COLUMNS, suffix="ON CONFLICT DO NOTHING RETURNING order_id"
)


class OrderProjection:
    """The orders returns knows of. Placed orders are written when the unit of work commits
    or reads them, all of a consumer's batch in two statements (orders, then the lines of
    those that were new): one order each was a statement pair per placed order."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._placed: dict[UUID, ProjectPlacedOrder] = {}

    async def add_if_new(self, order: ProjectPlacedOrder) -> None:
        self._placed.setdefault(order.order_id, order)

    async def flush(self) -> None:
        """Writes the placed orders staged so far; an order known before keeps what it has."""
        if not self._placed:
            return
        placed, self._placed = list(self._placed.values()), {}
        rows = [
            {
                "order_id": order.order_id,
                "order_number": order.order_number,
                "customer_email": order.customer_email,
                "customer_name": order.customer_name,
                "channel": order.channel,
                "currency": order.currency,
                "placed_at": order.placed_at,
                "shipping_amount": order.shipping_amount,
                "grand_total": order.grand_total,
                "tags": sorted(order.tags),
                "shipping_address": dict(order.shipping_address),
            }
            for order in placed
        ]
        # A fixed text on the driver (libs.db.driver): every placed order runs it.
        added = await fetch(self._session, _ADD_ORDER, column_arrays(rows, _ORDER_COLUMNS))
        new = {record["order_id"] for record in added}
        lines = [
            {
                "line_id": ln.line_id,
                "order_id": order.order_id,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "discount_amount": ln.discount_amount,
                "tax_amount": ln.tax_amount,
                "name": ln.name,
            }
            for order in placed
            if order.order_id in new
            for ln in order.lines
        ]
        if lines:
            # One statement of column arrays (libs.db.arrays), whatever the number of lines.
            await execute(self._session, _INSERT_LINES, column_arrays(lines, _LINE_COLUMNS))

    async def get_for_update(self, order_id: UUID) -> tuple[KnownOrder, OrderCredits] | None:
        return await self._load(order_id, lock=True)

    async def get(self, order_id: UUID) -> KnownOrder | None:
        """Without a lock, for the exchange worker's call out."""
        found = await self._load(order_id, lock=False)
        return found[0] if found is not None else None

    async def _load(self, order_id: UUID, *, lock: bool) -> tuple[KnownOrder, OrderCredits] | None:
        await self.flush()
        query = select(known_order).where(known_order.c.order_id == order_id)
        row = (
            await self._session.execute(query.with_for_update() if lock else query)
        ).one_or_none()
        if row is None:
            return None
        lines = (
            await self._session.execute(
                select(known_order_line)
                .where(known_order_line.c.order_id == order_id)
                .order_by(known_order_line.c.line_id)
            )
        ).all()
        return mappers.order_from(row, list(lines)), mappers.credits_from(row.credits)

    async def customer_order(self, order_number: str, email: str) -> UUID | None:
        """The order, only when the e-mail proves the customer (compared in constant time).
        An unknown order number is compared too, against a stand-in address, so neither the
        answer nor its timing tells an unknown order from a wrong e-mail."""
        await self.flush()
        row = (
            await self._session.execute(
                select(known_order.c.order_id, known_order.c.customer_email).where(
                    known_order.c.order_number == order_number
                )
            )
        ).one_or_none()
        if not email_proves_order(None if row is None else row.customer_email, email):
            return None
        assert row is not None  # proven by an order's own address
        found: UUID = row.order_id
        return found

    async def save_lines(self, order: KnownOrder) -> None:
        await self.flush()
        for ln in order.lines:
            await self._session.execute(
                update(known_order_line)
                .where(known_order_line.c.line_id == ln.line_id)
                .values(shipped=ln.shipped, delivered=ln.delivered, delivered_at=ln.delivered_at)
            )

    async def save_credits(self, order_id: UUID, credits: OrderCredits) -> None:
        await self.flush()
        await self._session.execute(
            update(known_order)
            .where(known_order.c.order_id == order_id)
            .values(credits=mappers.credits_data(credits))
        )

    async def first_sighting(
        self, shipment_id: str, kind: str, order_id: UUID, now: datetime
    ) -> bool:
        """True the first time a shipment's shipping (or delivery) is seen."""
        await self.flush()
        inserted = await self._session.execute(
            pg_insert(seen_shipment)
            .values(shipment_id=shipment_id, kind=kind, order_id=order_id, seen_at=now)
            .on_conflict_do_nothing()
            .returning(seen_shipment.c.shipment_id)
        )
        return inserted.first() is not None

    async def update_contact(
        self, order_id: UUID, address: Mapping[str, Any], email: str, name: str
    ) -> None:
        await self.flush()
        await self._session.execute(
            update(known_order)
            .where(known_order.c.order_id == order_id)
            .values(shipping_address=dict(address), customer_email=email, customer_name=name)
        )


class ReturnRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.seen: list[ReturnRequest] = []  # their events go to the outbox at commit

    async def next_rma_number(self) -> str:
        n = await self._session.scalar(select(rma_number_seq.next_value()))
        return f"RMA-{n:08d}"

    async def of_order(self, order_id: UUID) -> list[ReturnRequest]:
        """Every return of an order, locked (call with the order locked first)."""
        rows = await self._session.execute(
            select(return_request)
            .where(return_request.c.order_id == order_id)
            .order_by(return_request.c.created_at)
            .with_for_update()
        )
        found = [mappers.return_from(r) for r in rows]
        self.seen.extend(found)
        return found

    async def order_of(self, return_id: UUID) -> UUID | None:
        found: UUID | None = await self._session.scalar(
            select(return_request.c.order_id).where(return_request.c.id == return_id)
        )
        return found

    async def of_refund(self, refund_id: str) -> tuple[UUID, UUID] | None:
        """(return id, order id) of a refund this service asked for."""
        row = (
            await self._session.execute(
                select(refund.c.return_id, refund.c.order_id).where(refund.c.id == refund_id)
            )
        ).one_or_none()
        return (row.return_id, row.order_id) if row is not None else None

    async def claim_pending_exchanges(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[UUID]:
        """Up to `limit` pending exchanges no process holds, oldest first, now this caller's
        to place until `now + lease`. Several processes run the exchange worker: the claim
        commits before the call to order-capture, so two never place one replacement at once
        (the Idempotency-Key would make it one order, but the second call is work wasted on
        both sides); one whose process died is taken again once its lease has lapsed."""
        free = or_(
            return_request.c.exchange_claimed_until.is_(None),
            return_request.c.exchange_claimed_until <= now,
        )
        pending = (
            select(return_request.c.id)
            .where(return_request.c.exchange_status == "pending", free)
            .order_by(return_request.c.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await self._session.scalars(
            update(return_request)
            .where(return_request.c.id.in_(pending.scalar_subquery()))
            .values(exchange_claimed_until=now + lease)
            .returning(return_request.c.id)
        )
        return list(rows)

    async def release_exchange(self, return_id: UUID) -> None:
        """Give up the claim on an exchange that is still pending, for any process to retry."""
        await self._session.execute(
            update(return_request)
            .where(return_request.c.id == return_id)
            .values(exchange_claimed_until=None)
        )

    async def get(self, return_id: UUID) -> ReturnRequest | None:
        row = (
            await self._session.execute(
                select(return_request).where(return_request.c.id == return_id)
            )
        ).one_or_none()
        return mappers.return_from(row) if row is not None else None

    async def add(self, r: ReturnRequest) -> None:
        r.version = 1
        await self._session.execute(
            insert(return_request).values(
                id=r.id,
                rma_number=r.rma_number,
                order_id=r.order_id,
                created_at=r.created_at,
                **self._columns(r),
            )
        )
        self.seen.append(r)
        await self._write_children(r)

    async def save(self, r: ReturnRequest) -> None:
        r.version += 1
        await self._session.execute(
            update(return_request).where(return_request.c.id == r.id).values(**self._columns(r))
        )
        await self._write_children(r)

    def _columns(self, r: ReturnRequest) -> dict[str, Any]:
        return {
            "status": r.status.value,
            "method": r.method.value,
            "resolution": r.resolution.kind.value,
            "exchange_status": r.exchange.status if r.exchange else None,
            "refunded_amount": r.refunded_amount,
            "updated_at": r.updated_at,
            "version": r.version,
            "data": mappers.return_data(r),
        }

    async def _write_children(self, r: ReturnRequest) -> None:
        await self._session.execute(delete(return_line).where(return_line.c.return_id == r.id))
        await self._session.execute(
            insert(return_line),
            [
                {
                    "return_id": r.id,
                    "line_id": ln.line_id,
                    "order_id": r.order_id,
                    "sku": ln.sku,
                    "reason": ln.reason.value,
                    "quantity": ln.quantity,
                    "received": ln.received_units,
                }
                for ln in r.lines
            ],
        )
        for f in r.refunds:
            values = {
                "status": f.status.value,
                "settled_at": f.settled_at,
                "reason": f.reason,
            }
            await self._session.execute(
                pg_insert(refund)
                .values(
                    id=f.id,
                    return_id=r.id,
                    order_id=r.order_id,
                    method=f.method,
                    amount=f.amount,
                    currency=r.currency,
                    requested_at=f.requested_at,
                    **values,
                )
                .on_conflict_do_update(index_elements=[refund.c.id], set_=values)
            )


class PolicyStore:
    """The return policy, versioned: every version is kept, each return names its own."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def current(self) -> tuple[ReturnPolicy, datetime | None]:
        row = await versioned.latest(self._session, return_policy)
        if row is None:
            return DEFAULT_POLICY, None
        return ReturnPolicy.from_dict(row.body, row.version), row.created_at

    async def add(self, policy: ReturnPolicy, now: datetime, expected_version: int | None) -> int:
        return await versioned.add_version(
            self._session,
            return_policy,
            policy.to_dict(),
            now,
            expected_version=expected_version,
            default_version=DEFAULT_POLICY.version,
            what="return policy",
        )
