"""The outbox relay against real PostgreSQL and the real broker."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, insert, select

from libs.db.engine import asyncpg_dsn
from libs.messaging.kafka import make_producer
from libs.messaging.topics import TopicNamer
from libs.outbox.relay import OutboxRelay
from tests.libs.integration.conftest import LibDb, create_topic
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import read_topic


def relay_for(db: LibDb, cls: type[OutboxRelay] = OutboxRelay) -> OutboxRelay:
    return cls(
        service=f"libtest-{uuid.uuid4().hex[:6]}",
        dsn=asyncpg_dsn(db.url),
        table=db.outbox,
        producer_factory=lambda: make_producer(
            bootstrap_servers=BOOTSTRAP_SERVERS, client_id="libtest"
        ),
        namer=TopicNamer(TOPIC_PREFIX),
        batch_size=25,
    )


async def write_rows(db: LibDb, topic: str, keys: Sequence[str], per_key: int) -> list[str]:
    ids = []
    async with db.sessions() as s, s.begin():
        for n in range(per_key):
            for key in keys:
                event_id = str(uuid.uuid4())
                ids.append(event_id)
                await s.execute(
                    insert(db.outbox).values(
                        id=event_id,
                        topic=topic,
                        key=key,
                        event_type="libtest.counted",
                        schema_version=1,
                        payload={"id": event_id, "key": key, "n": n},
                        headers={"correlation-id": "c"},
                    )
                )
    return ids


async def drain(relay: OutboxRelay) -> int:
    producer = relay._producer_factory()
    await producer.start()
    try:
        total = 0
        while sent := await relay.relay_once(producer):
            total += sent
        return total
    finally:
        await producer.stop()


async def unpublished(db: LibDb, ids: list[str]) -> int:
    """The rows still in the outbox: the relay deletes a row once Kafka acknowledged it."""
    async with db.sessions() as s:
        return int(await s.scalar(select(func.count()).where(db.outbox.c.id.in_(ids))) or 0)


class TestRelay:
    async def test_publishes_every_row_once_in_order_per_key(
        self, lib_db: LibDb, kafka_topics: str
    ) -> None:
        topic = await create_topic(partitions=3)
        keys = [f"order-{i}" for i in range(5)]
        ids = await write_rows(lib_db, topic, keys, per_key=12)
        await drain(relay_for(lib_db))
        records = await read_topic(topic)
        assert sorted(json.loads(r.value)["id"] for r in records) == sorted(ids)
        by_key: dict[str, list[int]] = defaultdict(list)
        for r in sorted(records, key=lambda r: (r.partition, r.offset)):
            payload = json.loads(r.value)
            assert r.key.decode() == payload["key"]
            by_key[payload["key"]].append(payload["n"])
        assert all(seq == list(range(12)) for seq in by_key.values()), by_key
        assert dict(records[0].headers)["content-type"] == b"application/cloudevents+json"
        assert dict(records[0].headers)["ce_type"] == b"libtest.counted"
        assert await unpublished(lib_db, ids) == 0

    async def test_a_crash_between_send_and_delete_sends_again(
        self, lib_db: LibDb, kafka_topics: str
    ) -> None:
        class CrashesBeforeDeleting(OutboxRelay):
            async def delete_published(self, conn: asyncpg.Connection, seqs: list[int]) -> None:
                raise RuntimeError("process died after send, before delete")

        topic = await create_topic()
        ids = await write_rows(lib_db, topic, ["k"], per_key=3)
        with pytest.raises(RuntimeError):
            await drain(relay_for(lib_db, CrashesBeforeDeleting))
        assert await unpublished(lib_db, ids) == 3
        await drain(relay_for(lib_db))
        assert await unpublished(lib_db, ids) == 0
        sent = [json.loads(r.value)["id"] for r in await read_topic(topic)]
        # At least once: every event twice, in the same order each time. The inbox absorbs it.
        assert sent == ids + ids

    async def test_rows_committed_late_are_not_skipped(
        self, lib_db: LibDb, kafka_topics: str
    ) -> None:
        topic = await create_topic()
        relay = relay_for(lib_db)
        async with lib_db.sessions() as late, late.begin():
            early_ids = []
            late_id = str(uuid.uuid4())
            await late.execute(
                insert(lib_db.outbox).values(**row(late_id, topic))
            )  # lower seq, uncommitted
            early_ids = await write_rows(
                lib_db, topic, ["other"], per_key=2
            )  # higher seq, committed
            await drain(relay)
        await drain(relay)  # the late row is now committed
        sent = {json.loads(r.value)["id"] for r in await read_topic(topic)}
        assert sent == {*early_ids, late_id}


def row(event_id: str, topic: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "topic": topic,
        "key": "late",
        "event_type": "libtest.counted",
        "schema_version": 1,
        "payload": {"id": event_id, "key": "late", "n": 0},
        "headers": {},
    }
