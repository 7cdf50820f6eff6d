"""Creates every topic explicitly (the broker never auto-creates): `python -m libs.messaging.admin`
(`make topics`, the compose file's kafka-init, the Kubernetes Job oms-topics). No service creates
topics: that is this tool's job, run once per deployment, not once per replica.

Consumers that subscribe before a topic exists may never see it (aiokafka issue 486), so topics
are created before any service starts, and per-topic errors are checked (create_topics does not
raise them). Topics that exist are left as they are: their partitions and configs are the
operator's from then on (kafka-configs.sh, or Strimzi's KafkaTopic).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaConnectionError
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.messaging.kafka import PLAINTEXT, KafkaClientSettings, KafkaSecurity, make_admin
from libs.messaging.topics import TopicNamer, all_topic_names, dlq_of, partitions_of

TOPIC_ALREADY_EXISTS = 36
DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicLayout:
    """How the topics are made. The defaults are a production cluster's: three copies of
    every partition, and a write (acks=all, what the producers ask) succeeds only once two
    hold it, so one broker may be lost, or restarted, without losing or refusing a write."""

    replication_factor: int = 3
    min_insync_replicas: int = 2
    # Partitions of each main topic; None: libs.messaging.topics' own (6). Dead-letter topics
    # keep one, so people read them in arrival order.
    partitions: int | None = None
    # How long the broker keeps records; the inbox keeps its rows longer
    # (ServiceSettings.INBOX_RETENTION_S), so a redelivery is always recognised.
    retention_ms: int = 7 * DAY_MS
    # Dead letters wait for a person: a month.
    dlq_retention_ms: int = 30 * DAY_MS

    def new_topic(self, physical: str, logical: str) -> NewTopic:
        dlq = logical.endswith(dlq_of(""))
        partitions = partitions_of(logical) if dlq else self.partitions or partitions_of(logical)
        retention = self.dlq_retention_ms if dlq else self.retention_ms
        return NewTopic(
            physical,
            num_partitions=partitions,
            replication_factor=self.replication_factor,
            topic_configs={
                "min.insync.replicas": str(self.min_insync_replicas),
                "retention.ms": str(retention),
            },
        )


# A cluster of one broker: `make run`, the tests, the compose file.
ONE_BROKER = TopicLayout(replication_factor=1, min_insync_replicas=1)


class AdminSettings(KafkaClientSettings):
    """OMS_KAFKA_*: the brokers and their security as a service reads them, and the layout."""

    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    KAFKA_TOPIC_PREFIX: str = ""
    KAFKA_REPLICATION_FACTOR: int = Field(default=TopicLayout.replication_factor, ge=1)
    KAFKA_MIN_INSYNC_REPLICAS: int = Field(default=TopicLayout.min_insync_replicas, ge=1)
    # 0: each topic's own count (libs.messaging.topics).
    KAFKA_PARTITIONS: int = Field(default=0, ge=0)
    KAFKA_RETENTION_MS: int = Field(default=TopicLayout.retention_ms, ge=-1)
    KAFKA_DLQ_RETENTION_MS: int = Field(default=TopicLayout.dlq_retention_ms, ge=-1)

    def layout(self) -> TopicLayout:
        return TopicLayout(
            replication_factor=self.KAFKA_REPLICATION_FACTOR,
            min_insync_replicas=self.KAFKA_MIN_INSYNC_REPLICAS,
            partitions=self.KAFKA_PARTITIONS or None,
            retention_ms=self.KAFKA_RETENTION_MS,
            dlq_retention_ms=self.KAFKA_DLQ_RETENTION_MS,
        )


async def ensure_topics(
    *,
    bootstrap_servers: str,
    prefix: str = "",
    layout: TopicLayout,
    security: KafkaSecurity = PLAINTEXT,
    attempts: int = 30,
) -> list[str]:
    """Create missing topics; returns the names created. Retries while the broker comes up."""
    if layout.min_insync_replicas > layout.replication_factor:
        raise ValueError(
            f"min.insync.replicas {layout.min_insync_replicas} > replication factor"
            f" {layout.replication_factor}: no write could ever succeed"
        )
    namer = TopicNamer(prefix)
    admin = make_admin(
        bootstrap_servers=bootstrap_servers, client_id="oms-admin", security=security
    )
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    try:
        brokers = len((await admin.describe_cluster())["brokers"])
        if layout.replication_factor > brokers:
            raise RuntimeError(
                f"replication factor {layout.replication_factor} needs as many brokers; the"
                f" cluster has {brokers} (a development cluster: OMS_KAFKA_REPLICATION_FACTOR=1"
                " and OMS_KAFKA_MIN_INSYNC_REPLICAS=1)"
            )
        existing = set(await admin.list_topics())
        wanted = [
            layout.new_topic(namer.physical(name), name)
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
    admin = make_admin(bootstrap_servers=bootstrap_servers, client_id="oms-admin")
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
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
            prefix=settings.KAFKA_TOPIC_PREFIX,
            layout=settings.layout(),
            security=settings.kafka_security(),
        )
    )
    print(f"topics: {len(all_topic_names())} wanted, {len(created)} created", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
