"""Creates every topic explicitly (the broker never auto-creates): `python -m libs.messaging.admin`.

Consumers that subscribe before a topic exists may never see it (aiokafka issue 486), so topics
are created before any service starts, and per-topic errors are checked (create_topics does not
raise them).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.messaging.topics import TopicNamer, all_topic_names, partitions_of

TOPIC_ALREADY_EXISTS = 36


class AdminSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    KAFKA_BOOTSTRAP_SERVERS: str = "127.0.0.1:9092"
    KAFKA_TOPIC_PREFIX: str = ""


async def ensure_topics(
    *, bootstrap_servers: str, prefix: str = "", attempts: int = 30
) -> list[str]:
    """Create missing topics; returns the names created. Retries while the broker comes up."""
    namer = TopicNamer(prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="oms-admin")
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(namer.physical(name), num_partitions=partitions_of(name), replication_factor=1)
            for name in all_topic_names()
            if namer.physical(name) not in existing
        ]
        if not wanted:
            return []
        response = await admin.create_topics(wanted)
        failures = [
            (name, code)
            for name, code, *_ in response.topic_errors
            if code not in (0, TOPIC_ALREADY_EXISTS)
        ]
        if failures:
            raise RuntimeError(f"topic creation failed: {failures}")
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def delete_topics_with_prefix(*, bootstrap_servers: str, prefix: str) -> None:
    """Removes a test run's topics; refuses an empty prefix so real topics are never touched."""
    if not prefix:
        raise ValueError("refusing to delete topics without a prefix")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="oms-admin")
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["ensure-topics"], nargs="?", default="ensure-topics")
    parser.parse_args(argv)
    settings = AdminSettings()
    created = asyncio.run(
        ensure_topics(
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS, prefix=settings.KAFKA_TOPIC_PREFIX
        )
    )
    print(f"topics: {len(all_topic_names())} wanted, {len(created)} created", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
