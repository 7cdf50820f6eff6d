"""The inbox consumer against the real broker: duplicates absorbed, poison dead-lettered."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, insert, literal_column, select

from libs.bus.message_bus import MessageBus
from libs.clock import SystemClock
from libs.contracts.inventory import LowStock
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from libs.messaging.consumer import InboxConsumer
from libs.messaging.envelope import Envelope
from libs.messaging.kafka import make_consumer, make_producer
from libs.messaging.topics import TopicNamer
from libs.outbox.inbox import InboxEntry
from libs.outbox.writer import OutboxWriter
from tests.libs.integration.conftest import LibDb, create_topic
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import assign_whole_topic, read_topic
from tests.support.polling import eventually


@dataclass(frozen=True)
class Count:
    text: str
    poison: bool = False


def bus_for(db: LibDb) -> MessageBus:
    async def count(msg: Count, uow: SqlAlchemyUnitOfWork) -> None:
        await uow.session.execute(insert(db.effect).values(message=msg.text))
        if msg.poison:
            raise ValueError(
                f"cannot process {msg.text}"
            )  # after writing: the effect must roll back

    def uow_factory() -> SqlAlchemyUnitOfWork:
        clock = SystemClock()
        return SqlAlchemyUnitOfWork(
            session_factory=db.sessions,
            outbox=OutboxWriter(table=db.outbox, service="libtest", clock=clock),
            idempotency_table=db.idempotency,
            clock=clock,
        )

    return MessageBus(uow_factory=uow_factory, handlers={Count: count}, inbox_table=db.inbox)


async def effects(db: LibDb, texts: list[str]) -> list[str]:
    async with db.sessions() as s:
        rows = await s.execute(select(db.effect.c.message).where(db.effect.c.message.in_(texts)))
        return sorted(r.message for r in rows)


def cloudevent(
    text: str, *, poison: bool = False, event_id: str | None = None, correlation: str = "c"
) -> bytes:
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source="/test",
        type="libtest.count",
        subject=text,
        time=datetime.now(UTC),
        dataschema="urn:test",
        correlationid=correlation,
        partitionkey=text,
        data={"text": text, "poison": poison},
    ).to_bytes()


class TestInbox:
    async def test_the_same_event_twice_has_one_effect(self, lib_db: LibDb) -> None:
        bus, text = bus_for(lib_db), f"once-{uuid.uuid4().hex[:6]}"
        entry = InboxEntry("libtest", str(uuid.uuid4()), "libtest.count", "t")
        await bus.handle(Count(text), inbox=entry)
        await bus.handle(Count(text), inbox=entry)
        assert await effects(lib_db, [text]) == [text]


class TestInboxConsumer:
    async def test_absorbs_duplicates_dead_letters_poison_and_goes_on(
        self, lib_db: LibDb, kafka_topics: str
    ) -> None:
        topic = await create_topic(partitions=1)
        tag = uuid.uuid4().hex[:6]
        good1, poison, good2 = f"good1-{tag}", f"poison-{tag}", f"good2-{tag}"
        dup_id = str(uuid.uuid4())
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
        await producer.start()
        try:
            for value in (
                cloudevent(good1, event_id=dup_id),
                cloudevent(poison, poison=True),
                b"this is not a cloudevent",
                cloudevent(good1, event_id=dup_id),  # the broker or a relay duplicated it
            ):
                await producer.send_and_wait(TOPIC_PREFIX + topic, value=value, key=b"k")
            # Another subscriber's type, named in its header: passed over unread (not even
            # its broken JSON is looked at, so it is no dead letter). Before good2: by the
            # time good2 is handled, a dead letter for it would be on the topic.
            await producer.send_and_wait(
                TOPIC_PREFIX + topic,
                value=b"{not json",
                key=b"k",
                headers=[("ce_type", b"libtest.someone_elses")],
            )
            await producer.send_and_wait(TOPIC_PREFIX + topic, value=cloudevent(good2), key=b"k")
        finally:
            await producer.stop()

        group = f"libtest-{tag}"
        consumer = InboxConsumer(
            name=group,
            subscriptions={
                topic: {"libtest.count": lambda env: Count(env.data["text"], env.data["poison"])}
            },
            bus=bus_for(lib_db),
            namer=TopicNamer(TOPIC_PREFIX),
            consumer_factory=partial(
                make_consumer, bootstrap_servers=BOOTSTRAP_SERVERS, group_id=group, client_id=group
            ),
            producer_factory=partial(
                make_producer, bootstrap_servers=BOOTSTRAP_SERVERS, client_id=group
            ),
            max_attempts=3,
            retry_backoff_s=0.01,
        )
        task = asyncio.create_task(consumer.run())
        try:
            await eventually(
                lambda: effects(lib_db, [good1, poison, good2]),
                until=lambda seen: seen == [good1, good2],
                timeout=30,
                what="both good messages handled once, the poison one never",
            )
            dead = await eventually(
                lambda: read_topic(topic + ".dlq"),
                until=lambda recs: len(recs) == 2,
                what="2 dead letters",
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        errors = [dict(r.headers)["dlq-error"].decode() for r in dead]
        assert "cannot process" in errors[0] and poison in errors[0]
        assert "undecodable" in errors[1]
        assert dict(dead[0].headers)["dlq-original-topic"].decode() == TOPIC_PREFIX + topic
        async with lib_db.sessions() as s:
            inbox_rows = await s.scalar(
                select(func.count()).where(lib_db.inbox.c.consumer == group)
            )
        assert inbox_rows == 2  # good1 and good2; the poison message's row rolled back with it


def publishing_bus(db: LibDb) -> MessageBus:
    """Each message has an effect and announces it (an event through the outbox)."""

    async def count(msg: Count, uow: SqlAlchemyUnitOfWork) -> None:
        await uow.session.execute(insert(db.effect).values(message=msg.text))
        uow.publish(LowStock(sku=msg.text, available=0, threshold=1))

    def uow_factory() -> SqlAlchemyUnitOfWork:
        clock = SystemClock()
        return SqlAlchemyUnitOfWork(
            session_factory=db.sessions,
            outbox=OutboxWriter(table=db.outbox, service="libtest", clock=clock),
            idempotency_table=db.idempotency,
            clock=clock,
        )

    return MessageBus(
        uow_factory=uow_factory, handlers={Count: count}, inbox_table=db.inbox, batchable={Count}
    )


class TestBatches:
    async def test_a_fetch_is_handled_in_few_transactions_each_record_in_its_own_story(
        self, lib_db: LibDb, kafka_topics: str
    ) -> None:
        topic = await create_topic(partitions=3)
        tag = uuid.uuid4().hex[:6]
        texts = [f"batch-{tag}-{n:02d}" for n in range(20)]
        ids = [str(uuid.uuid4()) for _ in texts]
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
        await producer.start()
        try:
            # All sent before the consumer starts, so its fetches bring many at once.
            for text, event_id in zip(texts, ids, strict=True):
                await producer.send_and_wait(
                    TOPIC_PREFIX + topic,
                    value=cloudevent(text, event_id=event_id, correlation=f"story-{text}"),
                    key=text.encode(),  # spread over the partitions
                )
            # A redelivery inside the same fetch.
            await producer.send_and_wait(
                TOPIC_PREFIX + topic,
                value=cloudevent(texts[3], event_id=ids[3], correlation=f"story-{texts[3]}"),
                key=texts[3].encode(),
            )
        finally:
            await producer.stop()
        group = f"libtest-{tag}"
        consumer = InboxConsumer(
            name=group,
            subscriptions={topic: {"libtest.count": lambda env: Count(env.data["text"])}},
            bus=publishing_bus(lib_db),
            namer=TopicNamer(TOPIC_PREFIX),
            consumer_factory=partial(
                make_consumer, bootstrap_servers=BOOTSTRAP_SERVERS, group_id=group, client_id=group
            ),
            producer_factory=partial(
                make_producer, bootstrap_servers=BOOTSTRAP_SERVERS, client_id=group
            ),
        )
        task = asyncio.create_task(consumer.run())
        try:
            await eventually(
                lambda: effects(lib_db, texts),
                until=lambda seen: seen == texts,
                timeout=30,
                what="every message handled once",
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with lib_db.sessions() as s:
            # Rows written by one transaction share its id (xmin).
            transactions = await s.scalar(
                select(func.count(literal_column("xmin::text").distinct())).where(
                    lib_db.effect.c.message.in_(texts)
                )
            )
            stories = (
                await s.execute(
                    select(lib_db.outbox.c.payload).where(lib_db.outbox.c.key.in_(texts))
                )
            ).scalars()
            announced = {p["data"]["sku"]: (p["correlationid"], p["causationid"]) for p in stories}
        assert transactions is not None and transactions < len(texts) // 2
        # Each announcement carries the story of the record that caused it, not the batch's.
        assert announced == {
            text: (f"story-{text}", event_id) for text, event_id in zip(texts, ids, strict=True)
        }


async def test_a_consumer_with_a_batching_window_takes_a_flow_in_a_few_batches() -> None:
    """The broker holds each fetch for the window (libs.messaging.kafka): forty records sent
    10 ms apart come in a few batches, where a consumer without a window takes most of them
    one at a time."""
    topic = TOPIC_PREFIX + await create_topic(partitions=1)

    async def batches_taking(window_s: float, count: int = 40) -> int:
        consumer = make_consumer(
            bootstrap_servers=BOOTSTRAP_SERVERS,
            group_id=f"window-{uuid.uuid4().hex[:8]}",
            client_id="window",
            batch_window_s=window_s,
        )
        producer = make_producer(bootstrap_servers=BOOTSTRAP_SERVERS, client_id="window")
        await consumer.start()
        await producer.start()
        try:
            partitions = await assign_whole_topic(consumer, topic)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)  # the end, before the flow starts

            async def flow() -> None:
                for n in range(count):
                    await producer.send_and_wait(topic, f"{window_s}-{n}".encode())
                    await asyncio.sleep(0.01)  # the flow's pace, not a wait for anything

            sending = asyncio.create_task(flow())
            taken, batches = 0, 0
            async with asyncio.timeout(20):
                while taken < count:
                    got = await consumer.getmany(timeout_ms=1000)
                    if got:
                        batches += 1
                        taken += sum(len(records) for records in got.values())
            await sending
            return batches
        finally:
            await consumer.stop()
            await producer.stop()

    assert await batches_taking(0.3) <= 6
    assert await batches_taking(0.0) >= 10
