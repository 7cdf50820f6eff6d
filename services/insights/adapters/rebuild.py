"""Rebuild the KPI projection from the topics:
`python -m services.insights.adapters.rebuild` (with the service's INSIGHTS_* settings).

Stop insights' consumer first (every process of it): the command empties the projection's
tables and the consumer's inbox in one transaction, then moves the consumer group's committed
offsets of every topic insights reads back to the earliest offset the broker still holds. The
consumer, started again, reads the topics from there and builds the same figures, because each
fact carries the event's own time, never the time it is processed.

The broker refuses to move the offsets of a group that has members (a consumer still running):
the command then stops with that error, after the tables were emptied; stop the consumer and
run it again. Limits: the rebuild sees only what the topics still hold (their retention,
7 days by default, OMS_KAFKA_RETENTION_MS): an event already deleted by the broker is gone
from the figures too. While the consumer catches up, the figures are incomplete."""

from __future__ import annotations

import argparse
import asyncio

from aiokafka import TopicPartition
from sqlalchemy import delete

from libs.db.engine import make_engine
from libs.messaging.kafka import make_admin, make_consumer
from libs.messaging.topics import TopicNamer
from libs.registry import service
from services.insights.adapters.tables import PROJECTION_TABLES, plumbing
from services.insights.config import InsightsSettings


async def empty_projection(settings: InsightsSettings) -> None:
    """The fact tables and the inbox of insights' consumer, emptied in one transaction."""
    engine = make_engine(settings.DATABASE_URL, application_name="insights-rebuild")
    try:
        async with engine.begin() as conn:
            for table in PROJECTION_TABLES:
                await conn.execute(delete(table))
            inbox = plumbing.inbox
            await conn.execute(delete(inbox).where(inbox.c.consumer == settings.deploy_name))
    finally:
        await engine.dispose()


async def rewind_offsets(settings: InsightsSettings) -> dict[str, int]:
    """The group's committed offset of every partition of the consumed topics set to the
    earliest one the broker holds; returns how many partitions of each topic were moved."""
    namer = TopicNamer(settings.KAFKA_TOPIC_PREFIX)
    physical = {namer.physical(t): t for t in service("insights").consumes}
    admin = make_admin(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        client_id=f"{settings.deploy_name}-rebuild",
        security=settings.kafka_security(),
    )
    await admin.start()
    try:
        described = await admin.describe_topics(list(physical))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        for p in topic["partitions"]
    ]
    moved = {
        logical: sum(1 for tp in partitions if tp.topic == name)
        for name, logical in physical.items()
    }
    consumer = make_consumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        group_id=namer.physical(settings.deploy_name),
        client_id=f"{settings.deploy_name}-rebuild",
        security=settings.kafka_security(),
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        earliest = await consumer.beginning_offsets(partitions)
        # Refused by the broker while the group has members: the consumer must be stopped.
        await consumer.commit(dict(earliest))
    finally:
        await consumer.stop()
    return moved


async def rebuild(settings: InsightsSettings) -> dict[str, int]:
    await empty_projection(settings)
    return await rewind_offsets(settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    settings = InsightsSettings()
    moved = asyncio.run(rebuild(settings))
    for topic, count in moved.items():
        print(f"rebuild: {topic}: {count} partitions rewound to the earliest offset")
    print("rebuild: projection emptied; start insights' consumer to read the topics again")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
