"""The broker's side of dead letters: a job that reads every dead-letter topic of the run into
the dead_letter table, and the producer that puts a dead letter's record back (re-drives it).

The collector is a plain consumer of its own group (`<prefix>insights-dead-letters`), not the
service's InboxConsumer: that one decodes CloudEvents and would dead-letter a poison record
again. It commits a batch's offsets only after the batch's rows are committed, and stores a
record already stored as nothing new (the table's unique key), so a record read twice after a
crash or a rebalance is kept once.

The dead letters of the payment tokens' topic are never read: only orchestration may read
payment tokens (docs/security.md#payment-tokens), and a dead letter holds the record whole.

Re-driving is the one place a service writes to topics it does not own: what it sends is not
a new event of its own but the original record, byte for byte, as its owner published it."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.messaging.topics import PAYMENT_COMMANDS, TOPICS, TopicNamer, dlq_of
from libs.observability.logging import dependency_of, get_logger
from services.insights.adapters.dead_letters import store_collected
from services.insights.domain.dead_letters import (
    CollectedDeadLetter,
    DeadLetter,
    read_dead_letter,
    redrive_headers,
)
from services.insights.domain.errors import BrokerUnavailable

log = get_logger(__name__)

GROUP = "insights-dead-letters"
# Topics whose dead letters insights must not read (see the module's docstring).
NOT_COLLECTED = frozenset({PAYMENT_COMMANDS})
# After a failure (the broker or the database unreachable) the next try waits 0.5 s, doubling
# up to 10 s, jittered, as the inbox consumer does.
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
MAX_RECORDS = 500
STOP_TIMEOUT_S = 10.0


def collected_topics() -> list[str]:
    """The logical names of the dead-letter topics the collector reads."""
    return [dlq_of(spec.name) for spec in TOPICS if spec.name not in NOT_COLLECTED]


def _letter(record: ConsumerRecord[Any, Any], namer: TopicNamer) -> CollectedDeadLetter:
    return read_dead_letter(
        dlq_topic=record.topic,
        dlq_partition=record.partition,
        dlq_offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple((name, bytes(data)) for name, data in record.headers or ()),
        dead_lettered_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        logical=namer.logical,
    )


class DeadLetterCollector:
    def __init__(
        self,
        *,
        namer: TopicNamer,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        self._namer = namer
        self._consumer_factory = consumer_factory
        self._session_factory = session_factory
        self.topics = [namer.physical(topic) for topic in collected_topics()]

    async def run(self) -> None:
        """Collect until cancelled; an unreachable broker or database is retried, never fatal."""
        loop = asyncio.get_running_loop()
        backoff = FIRST_BACKOFF_S
        while True:
            started = loop.time()
            try:
                await self._collect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if loop.time() - started > MAX_BACKOFF_S:
                    backoff = FIRST_BACKOFF_S  # it had been working: a new outage
                delay = backoff * random.uniform(0.5, 1.0)
                log.warning(
                    "dead_letters.collector_failed",
                    dependency=dependency_of(exc),
                    error=repr(exc),
                    retry_in_s=round(delay, 2),
                )
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _collect(self) -> None:
        consumer = self._consumer_factory()
        consumer.subscribe(self.topics)
        try:
            await consumer.start()
            log.info("dead_letters.collector_started", topics=self.topics)
            while True:
                await self.collect_once(consumer)
        finally:
            # Bounded: a broker gone away must not hold up the process's shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await consumer.stop()

    async def collect_once(self, consumer: AIOKafkaConsumer) -> int:
        """What one fetch brought (within a second), stored, then its offsets committed; how
        many letters were new."""
        batches = await consumer.getmany(timeout_ms=1000, max_records=MAX_RECORDS)
        if not batches:
            return 0
        letters = [
            _letter(record, self._namer) for records in batches.values() for record in records
        ]
        new = await store_collected(self._session_factory, letters)
        # After the rows' commit: a crash in between reads the batch again, and stores nothing.
        await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        if new:
            log.info("dead_letters.collected", new=new, read=len(letters))
        return new


class KafkaRedriver:
    """Puts a dead letter's record back on its original topic with its own producer, started
    for the one send: re-drives are rare and by hand, and a producer kept open would hold
    connections (and retry them through a broker outage) for nothing."""

    def __init__(
        self,
        *,
        namer: TopicNamer,
        producer_factory: Callable[[], AIOKafkaProducer],
        timeout_s: float,
    ) -> None:
        self._namer = namer
        self._producer_factory = producer_factory
        self._timeout_s = timeout_s

    def source_of(self, letter: DeadLetter) -> str:
        """`<dead-letter topic>:<partition>:<offset>`: where the record is put back from."""
        dlq = self._namer.physical(dlq_of(letter.topic))
        return f"{dlq}:{letter.dlq_partition}:{letter.dlq_offset}"

    async def redrive(self, letter: DeadLetter) -> None:
        topic = self._namer.physical(letter.topic)
        producer = self._producer_factory()
        try:
            # Bounded: a broker that is down or slow answers 503, never a request that hangs.
            async with asyncio.timeout(self._timeout_s):
                await producer.start()
                await producer.send_and_wait(
                    topic,
                    key=letter.key,
                    value=letter.value,
                    headers=list(redrive_headers(letter, self.source_of(letter))),
                )
        except (TimeoutError, KafkaError, OSError) as exc:
            log.warning("dead_letters.redrive_failed", dead_letter=str(letter.id), error=repr(exc))
            raise BrokerUnavailable(
                f"the broker did not take the record for {topic} within {self._timeout_s:g} s",
                retry_after_s=5,
            ) from None
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._timeout_s):
                    await producer.stop()
        log.info("dead_letters.redriven", dead_letter=str(letter.id), topic=topic)
