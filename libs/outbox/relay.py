"""Outbox relay: publishes committed outbox rows to Kafka, in order per key, at least once.

- Claims rows with FOR UPDATE SKIP LOCKED in `seq` order, never by a high-water mark (sequence
  values are taken at insert, not at commit, so a high-water relay skips rows that commit late).
- One active relay per service: a PostgreSQL advisory lock elects it, so one key's events are
  never split between two relays and reordered. Others wait on standby.
- Wakes on LISTEN/NOTIFY (a trigger on the outbox), with a polling fallback.
- Sends a batch through an idempotent producer (acks=all), waits for every acknowledgement, then
  marks the rows published in the same transaction. A crash between send and mark means the
  rows are sent again on restart; the consumers' inbox absorbs the duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, delete, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.messaging.envelope import CONTENT_TYPE
from libs.messaging.topics import TopicNamer
from libs.observability.logging import dependency_of, get_logger
from libs.outbox.tables import OUTBOX_CHANNEL

log = get_logger(__name__)

# Published rows are kept a while for diagnosis, then purged so the table stays small.
PUBLISHED_RETENTION = "interval '7 days'"


def advisory_lock_key(service: str) -> int:
    digest = hashlib.sha256(f"oms-outbox-relay:{service}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        dsn: str,
        session_factory: async_sessionmaker[AsyncSession],
        table: Table,
        producer_factory: Callable[[], AIOKafkaProducer],
        namer: TopicNamer,
        batch_size: int = 200,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._service = service
        self._dsn = dsn
        self._session_factory = session_factory
        self._table = table
        self._producer_factory = producer_factory
        self._namer = namer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Relay until cancelled; an unreachable database or broker is retried, never fatal."""
        backoff = 0.5
        while True:
            try:
                await self._run_as_leader()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "outbox.relay.failed",
                    dependency=dependency_of(exc),
                    error=repr(exc),
                    retry_in_s=backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            else:
                backoff = 0.5

    async def _run_as_leader(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self._dsn, timeout=5)
        try:
            lock_key = advisory_lock_key(self._service)
            # Standby: another relay leads; poll for the lock (Postgres has no lock-released event).
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key):  # noqa: ASYNC110
                await asyncio.sleep(self._poll_interval_s)
            await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
            producer = self._producer_factory()
            await producer.start()
            log.info("outbox.relay.leading", service=self._service)
            try:
                await self._relay_forever(producer, conn)
            finally:
                await producer.stop()
        finally:
            await conn.close(timeout=5)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _relay_forever(self, producer: AIOKafkaProducer, conn: asyncpg.Connection) -> None:
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        while True:
            if conn.is_closed():
                raise ConnectionError("relay lost its database connection (and its leadership)")
            # Cleared before the query: a NOTIFY that lands while we work wakes the next round.
            self._wake.clear()
            sent = await self.relay_once(producer)
            if loop.time() >= next_purge:
                await self.purge_published()
                next_purge = loop.time() + 600
            if sent < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval_s)

    async def relay_once(self, producer: AIOKafkaProducer) -> int:
        """Publish one batch; returns how many rows it published."""
        t = self._table
        async with self._session_factory() as session, session.begin():
            rows = (
                await session.execute(
                    select(t.c.seq, t.c.topic, t.c.key, t.c.payload, t.c.headers)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.seq)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self.send(producer, rows)
            await self.mark_published(session, [row.seq for row in rows])
        return len(rows)

    async def send(self, producer: AIOKafkaProducer, rows: Sequence[Any]) -> None:
        # Enqueue in seq order, then wait for all acks: the idempotent producer keeps each
        # partition's records in the order they were enqueued.
        acks = []
        for row in rows:
            headers = [("content-type", CONTENT_TYPE.encode())]
            headers += [(k, str(v).encode()) for k, v in row.headers.items()]
            acks.append(
                await producer.send(
                    self._namer.physical(row.topic),
                    value=json.dumps(row.payload, separators=(",", ":")).encode(),
                    key=row.key.encode(),
                    headers=headers,
                )
            )
        await asyncio.gather(*acks)

    async def mark_published(self, session: AsyncSession, seqs: list[int]) -> None:
        t = self._table
        await session.execute(update(t).where(t.c.seq.in_(seqs)).values(published_at=func.now()))

    async def purge_published(self) -> None:
        t = self._table
        async with self._session_factory() as session, session.begin():
            await session.execute(
                delete(t).where(
                    t.c.published_at.is_not(None),
                    t.c.published_at < func.now() - literal_column(PUBLISHED_RETENTION),
                )
            )
