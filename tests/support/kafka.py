"""Reads a topic from the real broker, start to end, without joining a consumer group."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX


async def read_topic(
    logical_topic: str, *, prefix: str = TOPIC_PREFIX
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record now on the topic (all partitions), up to the end offsets at call time."""
    topic = prefix + logical_topic
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP_SERVERS, enable_auto_commit=False)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()  # fresh, so new topics are known
        partitions = [
            TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or [])
        ]
        assert partitions, f"topic {topic} not found on the broker"
        consumer.assign(partitions)
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
