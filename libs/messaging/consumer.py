"""Idempotent consumer: inbox row + handler effects in one transaction, then the Kafka offset.

- The records a fetch brings are handled together, each partition's in order, in ONE
  transaction (their inbox rows, their handlers' effects, the outbox rows of what they
  raised): a busy consumer pays one commit per fetch, not per record. If anything in the
  batch fails, it is rolled back whole and its records are handled one by one as below, so
  a poison record still fails (and is dead-lettered) alone. Only commands the bus calls
  batchable share a transaction; the others run one by one, partitions at once.
- Offsets are committed only after the database commit (auto-commit is off), so a crash
  replays messages rather than losing them; the inbox makes the replay change nothing. They
  are sent every commit_interval_s (and when the consumer falls idle or loses partitions),
  not after every fetch.
- A message that fails for a business reason is retried a bounded number of times with backoff,
  then dead-lettered to `<topic>.dlq` with the error, and the consumer goes on.
- A message that fails because the database is unreachable is retried until it comes back:
  dead-lettering good messages during an outage would lose them from the flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from libs.bus.message_bus import Delivery, MessageBus
from libs.db.driver import is_disconnect
from libs.db.errors import is_retryable_conflict, is_unavailable
from libs.messaging.envelope import TYPE_HEADER, Envelope
from libs.messaging.topics import TopicNamer, dlq_of
from libs.observability.correlation import correlation_scope
from libs.observability.logging import dependency_of, get_logger
from libs.observability.metrics import (
    forget_consumer_lag,
    record_dead_lettered,
    records_handled,
    set_consumer_lag,
)
from libs.observability.tracing import TRACE_HEADERS, consumer_span
from libs.observability.tracing import enabled as tracing_enabled
from libs.outbox.inbox import InboxEntry

log = get_logger(__name__)

# After a failure (the broker or the database unreachable) the next try waits 0.5 s, doubling
# up to 10 s, each wait jittered; a run that had lasted longer than the cap starts again at 0.5.
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0

# (logical topic) -> (event type) -> translator from the envelope to a command for the bus;
# a translator that returns None says this particular event does not concern the consumer.
Translator = Callable[[Envelope], object | None]
Subscriptions = Mapping[str, Mapping[str, Translator]]

MAX_ERROR_HEADER = 2000
# Reusable: what a record's span is when tracing is off.
_UNTRACED: contextlib.nullcontext[None] = contextlib.nullcontext()


def is_transient(exc: BaseException) -> bool:
    """Infrastructure failures that retrying will cure, as opposed to a poison message."""
    if isinstance(
        exc,
        OperationalError | InterfaceError | ConnectionError | OSError | TimeoutError | PoolTimeout,
    ):
        return True
    if is_disconnect(exc):  # raised by a statement run on the driver itself (libs.db.driver)
        return True
    if is_retryable_conflict(exc):  # a deadlock or serialization failure: run it again
        return True
    if is_unavailable(exc):  # the database is starting, recovering or shutting down
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@dataclass
class _Work:
    """A record this consumer handles, decoded, with its translator. `last_offset` also
    covers the records after it that do not concern the consumer: they are done with it."""

    record: ConsumerRecord[Any, Any]
    envelope: Envelope
    translator: Translator
    last_offset: int


def _type_header(record: ConsumerRecord[Any, Any]) -> str | None:
    for name, value in record.headers or ():
        if name == TYPE_HEADER:
            return bytes(value).decode(errors="replace")
    return None


@dataclass
class _Head:
    """A partition's leading records that may share the fetch's transaction: the batchable
    ones, and the offset up to which they (and records not ours among them) reach."""

    batch: list[tuple[_Work, Delivery]] = field(default_factory=list)
    covered: int | None = None


class _CommitProcessedOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what was processed before partitions move, so the next owner starts after it."""

    def __init__(self, owner: InboxConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._owner.commit_processed(revoked)
        self._owner.forget_lag(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("consumer.assigned", partitions=[f"{tp.topic}:{tp.partition}" for tp in assigned])


class InboxConsumer:
    def __init__(
        self,
        *,
        name: str,
        subscriptions: Subscriptions,
        bus: MessageBus,
        namer: TopicNamer,
        consumer_factory: Callable[[], AIOKafkaConsumer],
        producer_factory: Callable[[], AIOKafkaProducer],
        max_attempts: int = 5,
        retry_backoff_s: float = 0.2,
        commit_interval_s: float = 1.0,
        max_batch: int = 500,
    ) -> None:
        self._name = name
        self._subscriptions = subscriptions
        self._bus = bus
        self._namer = namer
        self._consumer_factory = consumer_factory
        self._producer_factory = producer_factory
        self._max_attempts = max_attempts
        self._retry_backoff_s = retry_backoff_s
        self._commit_interval_s = commit_interval_s
        self._max_batch = max_batch  # records handled in one go
        self._consumer: AIOKafkaConsumer | None = None
        self._processed: dict[TopicPartition, int] = {}
        # The offset after the last record each partition's fetches handed over: with the
        # broker's high watermark, the partition's lag, known without asking the broker.
        self._handed: dict[TopicPartition, int] = {}

    async def run(self) -> None:
        """Consume until cancelled; an unreachable broker is retried, never fatal."""
        loop = asyncio.get_running_loop()
        backoff = FIRST_BACKOFF_S
        while True:
            started = loop.time()
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if loop.time() - started > MAX_BACKOFF_S:
                    backoff = FIRST_BACKOFF_S  # it had been working: a new outage
                # Jitter: the processes that lost the broker or the database together must
                # not all come back at the same instant, again and again.
                delay = backoff * random.uniform(0.5, 1.0)
                log.warning(
                    "consumer.failed",
                    consumer=self._name,
                    dependency=dependency_of(exc),
                    error=repr(exc),
                    retry_in_s=round(delay, 2),
                )
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _consume(self) -> None:
        consumer = self._consumer_factory()
        producer = self._producer_factory()
        topics = [self._namer.physical(t) for t in self._subscriptions]
        consumer.subscribe(topics, listener=_CommitProcessedOnRevoke(self))
        try:
            await consumer.start()
            await producer.start()
            self._consumer = consumer
            log.info("consumer.started", consumer=self._name, topics=topics)
            loop = asyncio.get_running_loop()
            next_commit = loop.time() + self._commit_interval_s
            while True:
                batches = await self._fetch(consumer)
                await self._handle_fetch(consumer, producer, batches)
                # Offsets go to the broker every commit_interval_s, or once nothing more comes:
                # a commit request per fetch was a tenth of a quiet consumer's CPU. Handled but
                # uncommitted records are redelivered after a crash, and the inbox absorbs them.
                if not batches or loop.time() >= next_commit:
                    await self.commit_processed(list(self._processed))
                    await self._record_lag(consumer)
                    next_commit = loop.time() + self._commit_interval_s
        finally:
            with contextlib.suppress(Exception):
                await self.commit_processed(list(self._processed))
            self._consumer = None
            self.forget_lag(list(self._handed))
            try:
                await consumer.stop()
            finally:
                # Even when the consumer's stop fails: an unstopped producer keeps its
                # connections and its reconnect attempts after this round is over.
                await producer.stop()

    async def _fetch(
        self, consumer: AIOKafkaConsumer
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        """What the client has fetched, or what comes within a second. The broker holds each
        fetch for the consumer's batching window (libs.messaging.kafka.make_consumer), so a
        flow of records comes in batches, handled in one transaction each; the client fetches
        the next batch while this one is handled, so the window costs a record no more than
        the handling of the batch before it already does."""
        return dict(await consumer.getmany(timeout_ms=1000, max_records=self._max_batch))

    async def _handle_fetch(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        batches: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]],
    ) -> None:
        """Every partition's leading batchable records in ONE transaction, then the rest of
        each partition in its own order, partitions at once. Records of one key (one order)
        share a partition, so their order holds; a poison record or a record that must run
        alone only ends its own partition's share of the shared transaction."""
        heads: dict[TopicPartition, _Head] = {}
        rest: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
        for tp, records in batches.items():
            if tp in consumer.assignment():
                if records:
                    self._handed[tp] = records[-1].offset + 1
                heads[tp], rest[tp] = self._head_of(records)
        together = [d for head in heads.values() for _, d in head.batch]
        if len(together) > 1 and await self._handled_together(together):
            for tp, head in heads.items():
                if head.covered is not None:
                    self._processed[tp] = head.covered + 1
        else:
            async with asyncio.TaskGroup() as group:
                for tp, head in heads.items():
                    group.create_task(self._handle_head(producer, tp, head))
        async with asyncio.TaskGroup() as group:
            for tp, records in rest.items():
                if records:
                    group.create_task(self._process_in_order(consumer, producer, tp, records))

    def _head_of(
        self, records: list[ConsumerRecord[Any, Any]]
    ) -> tuple[_Head, list[ConsumerRecord[Any, Any]]]:
        """The leading records a shared transaction may take (batchable, or not ours), and
        the rest, from the first that is not."""
        head = _Head()
        for index, record in enumerate(records):
            work = self._work_of(record)
            if isinstance(work, _Work):
                try:
                    delivery = self._delivery_of(work)
                except Exception:
                    return head, records[index:]  # its translation fails again alone
                if delivery is not None and not self._bus.batchable(delivery.message):
                    return head, records[index:]
                if delivery is not None:
                    head.batch.append((work, delivery))
            elif isinstance(work, str):
                return head, records[index:]  # undecodable: dead-lettered in its turn
            head.covered = record.offset
        return head, []

    async def _handled_together(self, deliveries: list[Delivery]) -> bool:
        started = time.perf_counter()
        try:
            await self._bus.handle_batch(deliveries)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info(
                "consumer.batch_failed",
                consumer=self._name,
                records=len(deliveries),
                transient=is_transient(exc),
                error=repr(exc),
            )
            return False
        records_handled(
            [d.inbox.topic for d in deliveries if d.inbox is not None],
            time.perf_counter() - started,
        )
        log.debug("consumer.batch_handled", consumer=self._name, records=len(deliveries))
        return True

    async def _handle_head(
        self, producer: AIOKafkaProducer, tp: TopicPartition, head: _Head
    ) -> None:
        for work, _ in head.batch:
            await self._handle_alone(producer, tp, work)
        if head.covered is not None:
            self._processed[tp] = head.covered + 1

    async def _process_in_order(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        tp: TopicPartition,
        records: list[ConsumerRecord[Any, Any]],
    ) -> None:
        run: list[_Work] = []
        for record in records:
            if tp not in consumer.assignment():
                break  # revoked mid-batch: its new owner replays from the committed offset
            work = self._work_of(record)
            if isinstance(work, str):
                # Undecodable: what came before it is handled first, in order.
                await self._handle_run(producer, tp, run)
                run = []
                await self._dead_letter(producer, record, work)
                self._processed[tp] = record.offset + 1
            elif work is not None:
                run.append(work)
            elif not run:
                self._processed[tp] = record.offset + 1  # not ours, and nothing before it
            else:
                run[-1].last_offset = record.offset  # not ours: done once the run is
        await self._handle_run(producer, tp, run)

    def _work_of(self, record: ConsumerRecord[Any, Any]) -> _Work | str | None:
        """What to do with a record: its work, None when it does not concern this consumer,
        or why it cannot be read."""
        subscribed = self._subscriptions.get(self._namer.logical(record.topic), {})
        named = _type_header(record)
        if named is not None and named not in subscribed:
            return None  # not ours, and its header says so: its JSON is never parsed
        try:
            envelope = Envelope.from_bytes(record.value)
        except Exception as exc:
            return f"undecodable CloudEvent: {exc!r}"
        translator = subscribed.get(envelope.type)
        if translator is None:
            return None
        return _Work(record, envelope, translator, record.offset)

    async def _handle_run(
        self, producer: AIOKafkaProducer, tp: TopicPartition, run: list[_Work]
    ) -> None:
        """A partition's records in order: consecutive batchable ones together, the others
        (and any batch that failed) one by one."""
        batch: list[tuple[_Work, Delivery]] = []
        for work in run:
            try:
                delivery, alone = self._delivery_of(work), False
            except Exception:
                delivery, alone = None, True  # its translation fails again alone, with retries
            if delivery is not None and self._bus.batchable(delivery.message):
                batch.append((work, delivery))
                continue
            await self._handle_batch(producer, tp, batch)
            batch = []
            if delivery is None and not alone:
                self._processed[tp] = work.last_offset + 1  # does not concern this consumer
            else:
                await self._handle_alone(producer, tp, work)
        await self._handle_batch(producer, tp, batch)

    def _delivery_of(self, work: _Work) -> Delivery | None:
        with correlation_scope(work.envelope.correlationid, work.envelope.id):
            command = work.translator(work.envelope)
        if command is None:
            return None
        envelope = work.envelope
        return Delivery(
            command,
            InboxEntry(
                self._name, envelope.id, envelope.type, self._namer.logical(work.record.topic)
            ),
            envelope.partitionkey or envelope.subject or envelope.id,
            partial(self._traced_scope, work)
            if tracing_enabled()
            else partial(correlation_scope, envelope.correlationid, envelope.id),
        )

    @contextlib.contextmanager
    def _traced_scope(self, work: _Work) -> Iterator[None]:
        """A record's correlation scope in a span that continues its producer's trace."""
        with self._span(work), correlation_scope(work.envelope.correlationid, work.envelope.id):
            yield

    def _span(self, work: _Work) -> contextlib.AbstractContextManager[None]:
        """The record's `process` span (nothing when tracing is off): a child of the context
        its producer put in its headers, current while the handler runs, so the events the
        handler writes carry the same trace on (libs.observability.tracing)."""
        if not tracing_enabled():
            return _UNTRACED
        record, envelope = work.record, work.envelope
        return consumer_span(
            f"process {self._namer.logical(record.topic)}",
            record.headers,
            {
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
                "messaging.consumer.group.name": self._name,
                "cloudevents.event_id": envelope.id,
                "cloudevents.event_type": envelope.type,
            },
        )

    async def _handle_batch(
        self, producer: AIOKafkaProducer, tp: TopicPartition, batch: list[tuple[_Work, Delivery]]
    ) -> None:
        if len(batch) > 1 and await self._handled_together([d for _, d in batch]):
            self._processed[tp] = batch[-1][0].last_offset + 1
            return
        for work, _ in batch:
            await self._handle_alone(producer, tp, work)

    async def _handle_alone(
        self, producer: AIOKafkaProducer, tp: TopicPartition, work: _Work
    ) -> None:
        with self._span(work), correlation_scope(work.envelope.correlationid, work.envelope.id):
            await self._handle_with_retries(producer, work.record, work.envelope, work.translator)
        self._processed[tp] = work.last_offset + 1

    async def commit_processed(self, partitions: list[TopicPartition]) -> None:
        offsets = {tp: self._processed.pop(tp) for tp in partitions if tp in self._processed}
        if not offsets or self._consumer is None:
            return
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # Harmless: the records are redelivered and the inbox absorbs them.
            log.warning("consumer.commit_failed", consumer=self._name, error=repr(exc))

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue  # nothing fetched from it yet
            if tp not in self._handed:
                # Nothing handed over since it was assigned: a fetch was made from its
                # position, so the client knows it without asking the broker.
                with contextlib.suppress(KafkaError, TimeoutError):
                    async with asyncio.timeout(0.1):
                        self._handed[tp] = await consumer.position(tp)
            handed = self._handed.get(tp)
            if handed is not None:
                set_consumer_lag(self._namer.logical(tp.topic), tp.partition, highwater - handed)

    def forget_lag(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            if self._handed.pop(tp, None) is not None:
                forget_consumer_lag(self._namer.logical(tp.topic), tp.partition)

    async def process(self, record: ConsumerRecord[Any, Any], producer: AIOKafkaProducer) -> None:
        """One record on its own: handled with retries, or dead-lettered."""
        work = self._work_of(record)
        if isinstance(work, str):
            await self._dead_letter(producer, record, work)
        elif work is not None:
            with self._span(work), correlation_scope(work.envelope.correlationid, work.envelope.id):
                await self._handle_with_retries(producer, record, work.envelope, work.translator)

    async def _handle_with_retries(
        self,
        producer: AIOKafkaProducer,
        record: ConsumerRecord[Any, Any],
        envelope: Envelope,
        translator: Translator,
    ) -> None:
        entry = InboxEntry(
            self._name, envelope.id, envelope.type, self._namer.logical(record.topic)
        )
        attempt = 0
        while True:
            attempt += 1
            try:
                command = translator(envelope)
                if command is not None:
                    started = time.perf_counter()
                    await self._bus.handle(command, inbox=entry)
                    records_handled([entry.topic], time.perf_counter() - started)
                    # Debug: at info, a busy consumer would write a line per record.
                    log.debug(
                        "consumer.handled",
                        consumer=self._name,
                        event_id=envelope.id,
                        event_type=envelope.type,
                        attempts=attempt,
                    )
                else:
                    log.debug(
                        "consumer.not_concerned",
                        consumer=self._name,
                        event_id=envelope.id,
                        event_type=envelope.type,
                    )
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                transient = is_transient(exc)
                log.warning(
                    "consumer.handler_failed",
                    consumer=self._name,
                    event_id=envelope.id,
                    event_type=envelope.type,
                    attempt=attempt,
                    transient=transient,
                    error=repr(exc),
                )
                if not transient and attempt >= self._max_attempts:
                    await self._dead_letter(producer, record, repr(exc))
                    return
                delay = self._retry_backoff_s * 2 ** min(attempt - 1, 6)
                await asyncio.sleep(delay)

    async def _dead_letter(
        self, producer: AIOKafkaProducer, record: ConsumerRecord[Any, Any], error: str
    ) -> None:
        headers = list(record.headers or [])
        if tracing_enabled():
            # The instrumented producer adds the current span's own traceparent: the record's
            # would be a second one.
            headers = [(k, v) for k, v in headers if k not in TRACE_HEADERS]
        headers += [
            ("dlq-error", error[:MAX_ERROR_HEADER].encode()),
            ("dlq-consumer", self._name.encode()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
        ]
        dlq = dlq_of(record.topic)
        # Awaited before the offset commit, so a dead letter is never lost either.
        await (await producer.send(dlq, value=record.value, key=record.key, headers=headers))
        record_dead_lettered(self._namer.logical(record.topic))
        log.error(
            "consumer.dead_lettered",
            consumer=self._name,
            dlq=dlq,
            offset=record.offset,
            error=error,
        )
