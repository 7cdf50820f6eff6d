"""Dead letters on the real broker and database: collected once however often they are read,
the payment tokens' never; re-driven back onto their topic as they were; a broker that does
not answer is a bounded 503."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select

from libs.messaging.kafka import make_consumer, make_producer
from libs.messaging.topics import PAYMENT_COMMANDS, TopicNamer
from libs.runtime import ServiceContainer
from services.insights.adapters.dead_letter_topics import (
    DeadLetterCollector,
    KafkaRedriver,
    collected_topics,
)
from services.insights.adapters.tables import dead_letter
from services.insights.api.app import create_app
from services.insights.bootstrap import bootstrap, dead_letter_collector
from services.insights.config import InsightsSettings
from services.insights.domain.dead_letters import DeadLetter, DeadLetterStatus
from services.insights.domain.errors import BrokerUnavailable
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.tokens import admin_headers

ORDER_EVENTS = "oms.order.events"
# Marked as forged, so the check of every event on Kafka knows they are not the services'.
POISON = ("test-poison", b"1")
NAMER = TopicNamer(TOPIC_PREFIX)


def _broken_event(marker: str) -> bytes:
    """A CloudEvent whose data breaks the contract of its type: what a consumer dead-letters."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": marker,
            "source": "/test",
            "type": "oms.order.placed",
            "subject": marker,
            "time": "2026-11-22T10:15:00Z",
            "datacontenttype": "application/json",
            "data": {"order_id": marker},
        }
    ).encode()


def _dlq_headers(marker: str, offset: int) -> list[tuple[str, bytes]]:
    """What libs.messaging.consumer adds when it dead-letters a record of order events."""
    return [
        POISON,
        ("ce_type", b"oms.order.placed"),
        ("dlq-error", f"ValidationError('broken {marker}')".encode()),
        ("dlq-consumer", b"orchestration"),
        ("dlq-original-topic", NAMER.physical(ORDER_EVENTS).encode()),
        ("dlq-original-partition", b"2"),
        ("dlq-original-offset", str(offset).encode()),
    ]


async def _produce(records: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
    await producer.start()
    try:
        for topic, key, value, headers in records:
            await producer.send_and_wait(
                NAMER.physical(topic), key=key, value=value, headers=headers
            )
    finally:
        await producer.stop()


async def _rows(container: ServiceContainer, marker: str) -> list[dict[str, Any]]:
    async with container.session_factory() as session:
        found = await session.execute(
            select(dead_letter).where(dead_letter.c.key == marker.encode())
        )
        return [dict(row._mapping) for row in found]


# The dead letters are those of the run's own topics (the conftest's container reads topics of
# its own, for the KPI tests' forged events): a container with the run's settings, and the API
# on it.
@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.close()


@pytest.fixture
async def client(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    """A back-office client of the API (every scope, no narrowing)."""
    app = create_app(container, parts=("api",))
    app.state.container = container
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=admin_headers()
    ) as c:
        yield c


@pytest.fixture
async def collecting(
    container: ServiceContainer, kafka_topics: str
) -> AsyncIterator[DeadLetterCollector]:
    """The service's collector (its own group) running as the jobs part runs it."""
    collector = dead_letter_collector(InsightsSettings(), container, NAMER)
    task = asyncio.create_task(collector.run())
    yield collector
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 12, "the collector took too long to stop"


class TestCollecting:
    async def test_stores_each_dead_letter_once_and_never_the_payment_tokens(
        self, container: ServiceContainer, collecting: DeadLetterCollector
    ) -> None:
        marker = f"dl-{uuid.uuid4()}"
        key = marker.encode()
        await _produce(
            [
                (f"{ORDER_EVENTS}.dlq", key, _broken_event(marker), _dlq_headers(marker, 41)),
                (f"{ORDER_EVENTS}.dlq", key, b"not json \xff", _dlq_headers(marker, 42)),
                (f"{PAYMENT_COMMANDS}.dlq", key, b'{"token": "tok_secret"}', [POISON]),
            ]
        )
        rows = await eventually(
            partial(_rows, container, marker),
            until=lambda rows: len(rows) >= 2,
            timeout=30,
            what="both order-event dead letters collected",
        )
        by_offset = {row["offset"]: row for row in rows}
        event, poison = by_offset[41], by_offset[42]
        assert event["topic"] == ORDER_EVENTS and event["partition"] == 2
        assert event["consumer"] == "orchestration"
        assert event["error"] == f"ValidationError('broken {marker}')"
        assert (event["event_id"], event["event_type"]) == (marker, "oms.order.placed")
        assert event["value"] == _broken_event(marker)
        assert isinstance(event["value_json"], dict) and event["value_json"]["id"] == marker
        assert event["status"] == DeadLetterStatus.PENDING and event["redrive_count"] == 0
        # The original headers are kept for the re-drive; the dlq-* ones are the fields.
        assert [name for name, _ in event["headers"]] == ["test-poison", "ce_type"]
        assert poison["value"] == b"not json \xff" and poison["value_json"] is None
        assert poison["event_id"] is None

        # Read again from the start by a group that never committed (what a crash before the
        # offsets' commit amounts to): nothing is stored twice.
        assert NAMER.physical(f"{PAYMENT_COMMANDS}.dlq") not in collecting.topics
        again = make_consumer(
            bootstrap_servers=BOOTSTRAP_SERVERS,
            group_id=NAMER.physical(f"insights-dead-letters-again-{marker}"),
            client_id="test",
        )
        again.subscribe(collecting.topics)
        await again.start()
        try:
            tp = TopicPartition(NAMER.physical(f"{ORDER_EVENTS}.dlq"), 0)
            end = (await again.end_offsets([tp]))[tp]

            async def read_to_end() -> int:
                await collecting.collect_once(again)
                return await again.position(tp) if tp in again.assignment() else -1

            await eventually(read_to_end, until=lambda at: at >= end, timeout=30)
        finally:
            await again.stop()
        assert len(await _rows(container, marker)) == 2
        # The payment tokens' dead letters are nowhere: their topic is not read at all.
        async with container.session_factory() as session:
            payments = await session.scalar(
                select(func.count()).where(dead_letter.c.topic == PAYMENT_COMMANDS)
            )
        assert payments == 0
        assert f"{PAYMENT_COMMANDS}.dlq" not in collected_topics()


class TestRedriving:
    async def test_puts_the_record_back_once_per_key_and_marks_it(
        self,
        container: ServiceContainer,
        collecting: DeadLetterCollector,
        client: httpx.AsyncClient,
    ) -> None:
        marker = f"rd-{uuid.uuid4()}"
        await _produce(
            [
                (
                    f"{ORDER_EVENTS}.dlq",
                    marker.encode(),
                    _broken_event(marker),
                    _dlq_headers(marker, 7),
                )
            ]
        )
        (row,) = await eventually(
            partial(_rows, container, marker), timeout=30, what="the dead letter collected"
        )
        listed = await client.get("/v1/dead-letters", params={"topic": ORDER_EVENTS})
        assert listed.status_code == 200
        assert str(row["id"]) in [item["id"] for item in listed.json()["items"]]

        url = f"/v1/dead-letters/{row['id']}/redrive"
        first = await client.post(url, headers={"Idempotency-Key": f"{marker}-1"})
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["status"] == "redriven" and body["redrive_count"] == 1
        assert body["value"]["id"] == marker and body["value_base64"] is None
        # The same key again: answered alike, nothing sent or counted twice.
        repeat = await client.post(url, headers={"Idempotency-Key": f"{marker}-1"})
        assert repeat.status_code == 200 and repeat.json()["redrive_count"] == 1

        source = (
            f"{NAMER.physical(ORDER_EVENTS + '.dlq')}:{row['dlq_partition']}:{row['dlq_offset']}"
        )
        back = [r for r in await read_topic(ORDER_EVENTS) if r.key == marker.encode()]
        assert len(back) == 1
        headers = list(back[0].headers)
        assert back[0].value == _broken_event(marker)
        assert headers == [
            POISON,
            ("ce_type", b"oms.order.placed"),
            ("redriven-from", source.encode()),
        ]

        # Another key is another re-drive (safe: every consumer is idempotent by event id).
        second = await client.post(url, headers={"Idempotency-Key": f"{marker}-2"})
        assert second.status_code == 200 and second.json()["redrive_count"] == 2
        assert len([r for r in await read_topic(ORDER_EVENTS) if r.key == marker.encode()]) == 2

    async def test_unknown_is_404(self, client: httpx.AsyncClient) -> None:
        r = await client.post(f"/v1/dead-letters/{uuid.uuid4()}/redrive")
        assert r.status_code == 404 and r.json()["code"] == "dead_letter_not_found"


async def test_a_broker_that_does_not_answer_is_unavailable_within_the_timeout() -> None:
    letter = DeadLetter(
        id=uuid.uuid4(),
        topic=ORDER_EVENTS,
        dlq_partition=0,
        dlq_offset=0,
        key=b"k",
        value=b"v",
        headers=(),
        status=DeadLetterStatus.PENDING,
    )
    redriver = KafkaRedriver(
        namer=NAMER,
        producer_factory=partial(make_producer, bootstrap_servers="127.0.0.1:2", client_id="t"),
        timeout_s=2,
    )
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as refused:
        await redriver.redrive(letter)
    assert time.monotonic() - started < 5
    assert refused.value.headers["Retry-After"] == "5"
