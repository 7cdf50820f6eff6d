"""SQL of customer notifications: the orders' projection, the ledger and the opt-outs (the
handlers' ports), and the sending job's queue (claims and outcomes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import delete, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.adapters.tables import (
    customer_order,
    notification,
    notification_opt_out,
)
from services.notifications.domain.localisation import Language
from services.notifications.domain.notices import CustomerOrder, NotificationStatus, OrderLine
from services.notifications.service_layer.handlers.sending import Claimed, Outcome
from services.notifications.service_layer.unit_of_work import (
    LedgerEntry,
    NewNotification,
    RecordedNotice,
)

PENDING = NotificationStatus.PENDING.value


def order_row(order: CustomerOrder, placed_at: datetime) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "channel": order.channel,
        "email": order.email,
        "name": order.name,
        "phone": order.phone,
        "language": order.language.value,
        "currency": order.currency,
        "total": order.total,
        "lines": [
            {
                "line_id": line.line_id,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "amount": str(line.amount),
            }
            for line in order.lines
        ],
        "shipping_address": list(order.shipping_address)
        if order.shipping_address is not None
        else None,
        "pickup_location": order.pickup_location,
        "promised_date": order.promised_date,
        "parts": {key: dict(units) for key, units in order.parts.items()},
        "placed_at": placed_at,
    }


def order_of(row: Any) -> CustomerOrder:
    return CustomerOrder(
        order_id=row.order_id,
        order_number=row.order_number,
        channel=row.channel,
        email=row.email,
        name=row.name,
        phone=row.phone,
        language=Language(row.language),
        currency=row.currency,
        total=Decimal(row.total),
        lines=tuple(
            OrderLine(
                line_id=line["line_id"],
                sku=line["sku"],
                name=line["name"],
                quantity=int(line["quantity"]),
                amount=Decimal(line["amount"]),
            )
            for line in row.lines
        ),
        shipping_address=tuple(row.shipping_address) if row.shipping_address is not None else None,
        pickup_location=row.pickup_location,
        promised_date=row.promised_date,
        parts={key: dict(units) for key, units in (row.parts or {}).items()},
    )


def _subjects(order_id: UUID, email: str | None) -> list[str]:
    subjects = [f"order:{order_id}"]
    if email:
        subjects.append(f"email:{email.strip().lower()}")
    return subjects


async def _opted_out_subjects(session: AsyncSession, subjects: Sequence[str]) -> frozenset[str]:
    if not subjects:
        return frozenset()
    rows = await session.scalars(
        select(notification_opt_out.c.subject).where(notification_opt_out.c.subject.in_(subjects))
    )
    return frozenset(rows)


class CustomerOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, order: CustomerOrder, placed_at: datetime) -> None:
        await self._session.execute(
            pg_insert(customer_order)
            .values(order_row(order, placed_at))
            .on_conflict_do_nothing(index_elements=["order_id"])
        )

    async def get(self, order_id: UUID) -> CustomerOrder | None:
        row = (
            await self._session.execute(
                select(customer_order).where(customer_order.c.order_id == order_id)
            )
        ).one_or_none()
        return order_of(row) if row is not None else None

    async def change_customer(
        self,
        order_id: UUID,
        *,
        email: str,
        name: str,
        phone: str | None,
        shipping_address: tuple[str, ...] | None,
    ) -> None:
        await self._session.execute(
            update(customer_order)
            .where(customer_order.c.order_id == order_id)
            .values(
                email=email,
                name=name,
                phone=phone,
                shipping_address=list(shipping_address) if shipping_address else None,
            )
        )

    async def add_part(self, order_id: UUID, key: str, quantities: Mapping[str, int]) -> None:
        # Merged into the JSON object in SQL: the row need not be read first.
        part = literal({key: dict(quantities)}, type_=JSONB)
        await self._session.execute(
            update(customer_order)
            .where(customer_order.c.order_id == order_id)
            .values(parts=customer_order.c.parts.op("||")(part))
        )


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: NewNotification, now: datetime) -> bool:
        result = await self._session.execute(
            pg_insert(notification)
            .values(
                id=new.id,
                order_id=new.order_id,
                kind=new.kind,
                business_key=new.business_key,
                medium=new.medium,
                recipient=new.recipient,
                language=new.language,
                channel=new.channel,
                status=new.status,
                next_attempt_at=now if new.status == PENDING else None,
                event_id=new.event_id,
                event_type=new.event_type,
                event_data=dict(new.event_data),
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["order_id", "kind", "business_key", "medium"])
            .returning(notification.c.id)
        )
        return result.one_or_none() is not None

    async def get_for_update(self, notification_id: UUID) -> LedgerEntry | None:
        n = notification.c
        row = (
            await self._session.execute(
                select(n.id, n.order_id, n.channel, n.status, n.recipient, n.medium)
                .where(n.id == notification_id)
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            return None
        return LedgerEntry(row.id, row.order_id, row.channel, row.status, row.recipient, row.medium)

    async def recorded(self, order_id: UUID, medium: str) -> list[RecordedNotice]:
        n = notification.c
        rows = await self._session.execute(
            select(n.kind, n.business_key, n.event_id, n.event_type, n.event_data)
            .where(n.order_id == order_id, n.medium == medium)
            .order_by(n.created_at, n.id)
        )
        return [
            RecordedNotice(r.kind, r.business_key, r.event_id, r.event_type, r.event_data)
            for r in rows
        ]

    async def make_pending(self, notification_id: UUID, now: datetime) -> None:
        await self._session.execute(
            update(notification)
            .where(notification.c.id == notification_id)
            .values(
                status=PENDING, attempts=0, next_attempt_at=now, last_error=None, updated_at=now
            )
        )

    async def opted_out(self, order_id: UUID, email: str | None) -> bool:
        return bool(await _opted_out_subjects(self._session, _subjects(order_id, email)))

    async def opt_outs(self, order_id: UUID, email: str | None) -> tuple[bool, bool]:
        found = await _opted_out_subjects(self._session, _subjects(order_id, email))
        subjects = _subjects(order_id, email)
        return subjects[0] in found, len(subjects) > 1 and subjects[1] in found

    async def set_opt_out(self, subject: str, opted_out: bool, now: datetime) -> None:
        if opted_out:
            await self._session.execute(
                pg_insert(notification_opt_out)
                .values(subject=subject, created_at=now)
                .on_conflict_do_nothing(index_elements=["subject"])
            )
        else:
            await self._session.execute(
                delete(notification_opt_out).where(notification_opt_out.c.subject == subject)
            )


@dataclass
class SqlSendingQueue:
    """The sending job's port over one short transaction (see `sending_queue`)."""

    session: AsyncSession

    async def claim_due(self, now: datetime, limit: int, *, lease: timedelta) -> list[Claimed]:
        """Up to `limit` pending notifications due by `now`, oldest due first, this caller's
        until `now + lease` (another process skips them: FOR UPDATE SKIP LOCKED, then the
        lease), each with its order (None: not seen placed yet) and whether it opted out."""
        n = notification.c
        due = (
            select(n.id)
            .where(n.status == PENDING, n.next_attempt_at <= now)
            .order_by(n.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        until = now + lease
        rows = (
            await self.session.execute(
                update(notification)
                .where(n.id.in_(due.scalar_subquery()))
                .values(next_attempt_at=until)
                .returning(n.id, n.order_id, n.kind, n.medium, n.attempts, n.event_data)
            )
        ).all()
        if not rows:
            return []
        orders = {
            r.order_id: order_of(r)
            for r in await self.session.execute(
                select(customer_order).where(
                    customer_order.c.order_id.in_({row.order_id for row in rows})
                )
            )
        }
        subjects = [
            s
            for row in rows
            for s in _subjects(
                row.order_id, orders[row.order_id].email if row.order_id in orders else None
            )
        ]
        opted = await _opted_out_subjects(self.session, subjects)
        claimed = []
        for row in rows:
            order = orders.get(row.order_id)
            mine = _subjects(row.order_id, order.email if order is not None else None)
            claimed.append(
                Claimed(
                    id=row.id,
                    order_id=row.order_id,
                    kind=row.kind,
                    medium=row.medium,
                    attempts=row.attempts,
                    event_data=row.event_data,
                    order=order,
                    opted_out=any(s in opted for s in mine),
                    lease_until=until,
                )
            )
        return claimed

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Each outcome, unless the notification was made pending again meanwhile (a resend:
        its lease no longer stands, and it is sent once more)."""
        n = notification.c
        for o in outcomes:
            await self.session.execute(
                update(notification)
                .where(n.id == o.id, n.status == PENDING, n.next_attempt_at == o.lease_until)
                .values(
                    status=o.status,
                    attempts=o.attempts,
                    next_attempt_at=o.next_attempt_at,
                    last_error=o.last_error,
                    message_id=o.message_id if o.message_id is not None else n.message_id,
                    sent_at=o.sent_at if o.sent_at is not None else n.sent_at,
                    recipient=o.recipient if o.recipient is not None else n.recipient,
                    language=o.language if o.language is not None else n.language,
                    channel=o.channel if o.channel is not None else n.channel,
                    updated_at=now,
                )
            )


def sending_queue(
    session_factory: async_sessionmaker[AsyncSession],
) -> Callable[[], AbstractAsyncContextManager[SqlSendingQueue]]:
    """`async with queue() as q:` one transaction, committed at the end."""

    @asynccontextmanager
    async def open_queue() -> AsyncIterator[SqlSendingQueue]:
        async with session_factory() as session, session.begin():
            yield SqlSendingQueue(session)

    return open_queue
