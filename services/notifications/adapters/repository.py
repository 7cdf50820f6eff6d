"""The SQLAlchemy repositories implementing the service layer's ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import (
    Update,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from libs.bus.message_bus import lock_keys
from libs.ids import new_id
from services.notifications.adapters.mappers import endpoint_of, endpoint_row, secrets_of
from services.notifications.adapters.tables import (
    order_channel,
    parked_event,
    webhook_delivery,
    webhook_delivery_attempt,
    webhook_endpoint,
)
from services.notifications.domain.delivery import (
    DeliveryStatus,
    DueDelivery,
    Outcome,
    Verdict,
)
from services.notifications.domain.endpoints import EndpointStatus, WebhookEndpoint
from services.notifications.domain.secrets import signing_secrets
from services.notifications.service_layer.unit_of_work import (
    NewDelivery,
    ParkedEvent,
    StoredDelivery,
)


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.seen: list[WebhookEndpoint] = []
        self._receiving: list[WebhookEndpoint] | None = None

    async def add(self, endpoint: WebhookEndpoint) -> None:
        await self._session.execute(insert(webhook_endpoint).values(endpoint_row(endpoint)))
        self.seen.append(endpoint)

    async def get_for_update(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        row = (
            await self._session.execute(
                select(webhook_endpoint)
                .where(webhook_endpoint.c.id == endpoint_id)
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            return None
        endpoint = endpoint_of(row)
        self.seen.append(endpoint)
        return endpoint

    async def get(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        row = (
            await self._session.execute(
                select(webhook_endpoint).where(webhook_endpoint.c.id == endpoint_id)
            )
        ).one_or_none()
        return endpoint_of(row) if row is not None else None

    async def save(self, endpoint: WebhookEndpoint) -> None:
        values = endpoint_row(endpoint)
        values.pop("id")
        await self._session.execute(
            update(webhook_endpoint).where(webhook_endpoint.c.id == endpoint.id).values(values)
        )

    async def delete(self, endpoint_id: UUID) -> None:
        await self._session.execute(
            delete(webhook_endpoint).where(webhook_endpoint.c.id == endpoint_id)
        )

    async def receiving(self) -> list[WebhookEndpoint]:
        # Read once per unit of work: a consumer's batch of hundreds of events shares one, and
        # no handler of an event changes an endpoint.
        if self._receiving is None:
            rows = await self._session.execute(
                select(webhook_endpoint).where(
                    webhook_endpoint.c.enabled,
                    webhook_endpoint.c.status != EndpointStatus.DISABLED.value,
                )
            )
            self._receiving = [endpoint_of(row) for row in rows]
        return self._receiving


class DeliveryRepository:
    def __init__(self, session: AsyncSession, retry_window: timedelta) -> None:
        self._session = session
        self._retry_window = retry_window

    async def add(self, deliveries: Sequence[NewDelivery], now: datetime) -> None:
        rows = [self._row(d, now) for d in deliveries]
        await self._session.execute(
            pg_insert(webhook_delivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["endpoint_id", "webhook_id"])
        )

    async def add_one(self, delivery: NewDelivery, now: datetime) -> UUID:
        row = self._row(delivery, now)
        await self._session.execute(insert(webhook_delivery).values(row))
        made: UUID = row["id"]
        return made

    def _row(self, d: NewDelivery, now: datetime) -> dict[str, Any]:
        return {
            "id": new_id(),
            "endpoint_id": d.endpoint_id,
            "webhook_id": d.webhook_id,
            "event_type": d.event_type,
            "aggregate_key": d.key,
            "order_id": d.order_id,
            "occurred_at": d.occurred_at,
            "payload": dict(d.payload),
            "status": DeliveryStatus.PENDING.value,
            "next_attempt_at": now,
            "created_at": now,
            "expires_at": now + self._retry_window,
        }

    async def get_for_update(self, delivery_id: UUID) -> StoredDelivery | None:
        d = webhook_delivery.c
        row = (
            await self._session.execute(
                select(d.id, d.endpoint_id).where(d.id == delivery_id).with_for_update()
            )
        ).one_or_none()
        return StoredDelivery(row.id, row.endpoint_id) if row is not None else None

    async def requeue(self, delivery_id: UUID, now: datetime) -> None:
        await self._session.execute(self._requeued(now).where(webhook_delivery.c.id == delivery_id))

    async def requeue_since(self, endpoint_id: UUID, since: datetime, now: datetime) -> int:
        d = webhook_delivery.c
        result = await self._session.execute(
            self._requeued(now).where(d.endpoint_id == endpoint_id, d.created_at >= since)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _requeued(self, now: datetime) -> Update:
        # Due now: the worker's claim takes the requeued deliveries by their seq, so one
        # order's go in their first order, after any earlier one of it still pending. The
        # attempts count stays (the next attempt is numbered after the ledger's); a lease held
        # stays too, so a delivery being sent right now is not sent twice at once (that
        # attempt's outcome then decides its state, as if it had come after).
        return update(webhook_delivery).values(
            status=DeliveryStatus.PENDING.value,
            next_attempt_at=now,
            expires_at=now + self._retry_window,
            delivered_at=None,
        )

    async def record_attempt(
        self,
        delivery_id: UUID,
        number: int,
        started_at: datetime,
        outcome: Outcome,
        verdict: Verdict,
    ) -> None:
        await self._session.execute(
            insert(webhook_delivery_attempt).values(
                delivery_id=delivery_id,
                number=number,
                started_at=started_at,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
                response_excerpt=outcome.excerpt,
            )
        )
        delivered = verdict.status is DeliveryStatus.DELIVERED
        await self._session.execute(
            update(webhook_delivery)
            .where(webhook_delivery.c.id == delivery_id)
            .values(
                status=verdict.status.value,
                attempts=number,
                next_attempt_at=verdict.next_attempt_at,
                leased_until=None,
                last_attempt_at=started_at,
                last_status_code=outcome.status_code,
                last_error=outcome.error,
                delivered_at=started_at if delivered else None,
            )
        )


class DeliveryQueue:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        *,
        lease: timedelta,
        per_endpoint: int,
        in_flight: Mapping[UUID, int] | None = None,
    ) -> list[DueDelivery]:
        d = webhook_delivery
        earlier = aliased(webhook_delivery)
        # What may be sent now, numbered per endpoint in the order it is due: an endpoint
        # with a backlog (a receiver that is down, retried) gets at most `per_endpoint`
        # requests at once, the ones the caller has in flight to it counted, never all of it.
        in_flight = {e: n for e, n in (in_flight or {}).items() if n > 0}
        candidates = (
            select(
                d.c.id,
                d.c.endpoint_id,
                func.row_number()
                .over(partition_by=d.c.endpoint_id, order_by=(d.c.next_attempt_at, d.c.seq))
                .label("rank"),
            )
            .join(webhook_endpoint, webhook_endpoint.c.id == d.c.endpoint_id)
            .where(
                d.c.status == DeliveryStatus.PENDING.value,
                d.c.next_attempt_at <= now,
                or_(d.c.leased_until.is_(None), d.c.leased_until < now),
                webhook_endpoint.c.enabled,
                webhook_endpoint.c.status != EndpointStatus.DISABLED.value,
                d.c.endpoint_id.not_in([e for e, n in in_flight.items() if n >= per_endpoint]),
                # Per-order order: only the earliest pending delivery of an endpoint's
                # order (its record key) is sent; the later ones wait for it.
                ~exists().where(
                    and_(
                        earlier.c.endpoint_id == d.c.endpoint_id,
                        earlier.c.aggregate_key == d.c.aggregate_key,
                        earlier.c.status == DeliveryStatus.PENDING.value,
                        earlier.c.seq < d.c.seq,
                    )
                ),
            )
            .subquery()
        )
        # Every process's requests out to an endpoint count against its share, not only the
        # caller's: a delivery in flight is one leased now, and was due when it was claimed
        # (the range of the pending index the candidates are found in). Two claims at the very
        # same moment may each miss the other's; the bound holds from the next claim on.
        leased = (
            select(d.c.endpoint_id, func.count().label("n"))
            .where(
                d.c.status == DeliveryStatus.PENDING.value,
                d.c.next_attempt_at <= now,
                d.c.leased_until >= now,
            )
            .group_by(d.c.endpoint_id)
            .subquery()
        )
        mine = case(in_flight, value=candidates.c.endpoint_id, else_=0) if in_flight else literal(0)
        room = per_endpoint - func.greatest(func.coalesce(leased.c.n, 0), mine)
        chosen = (
            select(candidates.c.id)
            .outerjoin(leased, leased.c.endpoint_id == candidates.c.endpoint_id)
            .where(candidates.c.rank <= room)
        )
        rows = (
            await self._session.execute(
                select(
                    d.c.id,
                    d.c.endpoint_id,
                    d.c.webhook_id,
                    d.c.payload,
                    d.c.attempts,
                    d.c.created_at,
                    d.c.expires_at,
                    webhook_endpoint.c.url,
                    webhook_endpoint.c.secrets,
                )
                .join(webhook_endpoint, webhook_endpoint.c.id == d.c.endpoint_id)
                .where(d.c.id.in_(chosen))
                # A first attempt before a retry: a new event never queues behind the
                # retries of receivers that are down.
                .order_by(d.c.attempts > 0, d.c.next_attempt_at, d.c.seq)
                .limit(limit)
                .with_for_update(of=d, skip_locked=True)
            )
        ).all()
        if not rows:
            return []
        await self._session.execute(
            update(d).where(d.c.id.in_([r.id for r in rows])).values(leased_until=now + lease)
        )
        return [
            DueDelivery(
                id=r.id,
                endpoint_id=r.endpoint_id,
                url=r.url,
                webhook_id=r.webhook_id,
                # The body as sent and signed: the stored CloudEvent as compact JSON.
                payload=orjson.dumps(r.payload),
                secrets=tuple(signing_secrets(secrets_of(r.secrets), now)),
                attempts=r.attempts,
                created_at=r.created_at,
                expires_at=r.expires_at or r.created_at + timedelta(days=3),
            )
            for r in rows
        ]

    async def purge(self, before: datetime, limit: int) -> int:
        # Up to `limit` done deliveries made before `before` that no other process holds,
        # walked by seq (the primary key: there is no index on the stamp, and the oldest
        # deliveries have the lowest seqs, so the walk finds them first). The stamp is
        # filtered inside the walk: a done delivery that is still recent but has a lower seq
        # must not use up the batch and end the purge early. Every process runs the purge:
        # SKIP LOCKED lets two at once split the rows rather than wait on each other, and
        # the limit keeps each transaction's locks few.
        d = webhook_delivery
        done = (DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value)
        oldest = (
            select(d.c.seq)
            .where(d.c.status.in_(done), d.c.created_at < before)
            .order_by(d.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(delete(d).where(d.c.seq.in_(oldest.scalar_subquery())))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


@asynccontextmanager
async def delivery_queue(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[DeliveryQueue]:
    """The delivery worker's queue in a transaction of its own, committed on leaving: a claim
    commits before the worker sends."""
    async with sessions.begin() as session:
        yield DeliveryQueue(session)


class OrderChannels:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # Keys this transaction holds the lock of, and channels it knows (None: no channel
        # yet). Both are filled by `batch_of` for a consumer's batch, whose records' keys the
        # bus locked first; a channel read after the key's lock cannot change before the
        # transaction ends, other than through `remember` here.
        self._locked: set[str] = set()
        self._channels: dict[UUID, str | None] = {}
        # Of the orders `batch_of` read (those in `_channels`), the ones with parked events: a
        # placement of an order with none (nearly all) takes nothing, without asking.
        self._with_parked: set[UUID] = set()

    async def batch_of(self, keys: Collection[str]) -> None:
        """A consumer's batch about these keys, already locked: the channels of the orders
        they name, and which of them have parked events, are read in two statements for
        the batch, not one or two per event (about a fifth of the consumer's CPU)."""
        self._locked.update(keys)
        order_ids = [order_id for key in keys if (order_id := _uuid_or_none(key)) is not None]
        if not order_ids:
            return
        rows = await self._session.execute(
            select(order_channel.c.order_id, order_channel.c.channel).where(
                order_channel.c.order_id.in_(order_ids)
            )
        )
        self._channels.update(dict.fromkeys(order_ids))
        self._channels.update({row.order_id: row.channel for row in rows})
        self._with_parked.update(
            await self._session.scalars(
                select(parked_event.c.order_id)
                .where(parked_event.c.order_id.in_(order_ids))
                .distinct()
            )
        )

    async def lock(self, order_id: UUID) -> None:
        # The lock a consumer's batch takes on its records' keys (an order's id): inside a
        # batch that already holds it, taking it again would change nothing.
        key = str(order_id)
        if key not in self._locked:
            await lock_keys(self._session, [key])
            self._locked.add(key)

    async def remember(self, order_id: UUID, channel: str) -> None:
        await self._session.execute(
            pg_insert(order_channel)
            .values(order_id=order_id, channel=channel)
            .on_conflict_do_nothing(index_elements=["order_id"])
        )
        if order_id in self._channels and self._channels[order_id] is None:
            self._channels[order_id] = channel  # known to have had none: it has this one now

    async def channel_of(self, order_id: UUID) -> str | None:
        if order_id in self._channels:
            return self._channels[order_id]
        found: str | None = await self._session.scalar(
            select(order_channel.c.channel).where(order_channel.c.order_id == order_id)
        )
        return found

    async def park(self, event: ParkedEvent) -> None:
        self._with_parked.add(event.order_id)
        await self._session.execute(
            pg_insert(parked_event)
            .values(
                event_id=event.event_id,
                event_type=event.event_type,
                aggregate_key=event.key,
                order_id=event.order_id,
                occurred_at=event.occurred_at,
                payload=dict(event.payload),
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )

    async def take_parked(self, order_id: UUID) -> list[ParkedEvent]:
        if order_id in self._channels and order_id not in self._with_parked:
            return []
        self._with_parked.discard(order_id)
        rows = await self._session.execute(
            delete(parked_event).where(parked_event.c.order_id == order_id).returning(parked_event)
        )
        found = [
            ParkedEvent(
                r.event_id, r.event_type, r.aggregate_key, r.order_id, r.occurred_at, r.payload
            )
            for r in rows
        ]
        return sorted(found, key=lambda p: p.occurred_at)


def _uuid_or_none(key: str) -> UUID | None:
    try:
        return UUID(key)
    except ValueError:
        return None  # a SKU, a return's id...: not an order
