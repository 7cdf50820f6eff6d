"""Reads a topic from the real broker, start to end, without joining a consumer group; and
puts a broken event on one, for the consumers to dead-letter."""

from __future__ import annotations

import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.polling import eventually


async def assign_whole_topic(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Assigns every partition of `topic` (its physical name) to a started consumer that
    joins no group; returns them."""
    cluster = await consumer._client.fetch_all_metadata()  # fresh, so new topics are known
    partitions = [
        TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or [])
    ]
    assert partitions, f"topic {topic} not found on the broker"
    consumer.assign(partitions)
    return partitions


async def read_topic(
    logical_topic: str, *, prefix: str = TOPIC_PREFIX
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record now on the topic (all partitions), up to the end offsets at call time."""
    topic = prefix + logical_topic
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP_SERVERS, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await assign_whole_topic(consumer, topic)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, recs in batch.items():
                records.extend(recs)
                if recs and recs[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


async def consumed_to_end(
    readers: dict[str, list[str]], *, timeout: float = 30, prefix: str = TOPIC_PREFIX
) -> None:
    """Wait until each consumer group (key) has committed every record now on its topics
    (logical names): a barrier that says "everything sent so far has been handled"."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP_SERVERS)
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP_SERVERS, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        wanted = {
            group: [
                TopicPartition(prefix + t, p)
                for t in topics
                for p in sorted(cluster.partitions_for_topic(prefix + t) or [])
            ]
            for group, topics in readers.items()
        }
        ends = await consumer.end_offsets([tp for tps in wanted.values() for tp in tps])

        async def behind() -> list[str]:
            lagging = []
            for group, tps in wanted.items():
                committed = await admin.list_consumer_group_offsets(prefix + group, partitions=tps)
                for tp in tps:
                    at = committed.get(tp)
                    if ends[tp] > 0 and (at is None or at.offset < ends[tp]):
                        lagging.append(f"{group} {tp.topic}[{tp.partition}]")
            return lagging

        await eventually(
            behind, until=lambda lagging: not lagging, timeout=timeout, what="consumers at the end"
        )
    finally:
        await consumer.stop()
        await admin.close()


# Marked as forged, so the check of every event on Kafka knows a record is not the services'.
FORGED = ("test-poison", b"1")


def broken_placed_event(marker: str) -> bytes:
    """An `oms.order.placed` CloudEvent whose data breaks its contract, identified and keyed
    by `marker`: every consumer of the order events gives up on it and dead-letters it."""
    event = {
        "specversion": "1.0",
        "id": marker,
        "source": "/test",
        "type": "oms.order.placed",
        "subject": marker,
        "time": "2026-11-22T10:15:00Z",
        "dataschema": "urn:test",
        "correlationid": marker,
        "partitionkey": marker,
        "data": {"order_id": marker},
    }
    return json.dumps(event).encode()


async def forge_broken_event(marker: str, logical_topic: str = "oms.order.events") -> None:
    """The broken event above, keyed by `marker` and marked as forged, put on the topic."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
    await producer.start()
    try:
        await producer.send_and_wait(
            TOPIC_PREFIX + logical_topic,
            key=marker.encode(),
            value=broken_placed_event(marker),
            headers=[FORGED],
        )
    finally:
        await producer.stop()
