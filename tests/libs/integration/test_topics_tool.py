"""The topics tool (`make topics`, the compose file's kafka-init, the Kubernetes Job) on the real
broker: it makes every topic with the partitions, replication factor, min.insync.replicas and
retention its OMS_KAFKA_* settings name, and refuses a replication factor the cluster cannot
hold before it creates anything."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from libs.messaging import admin as topics_tool
from libs.messaging.topics import all_topic_names
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX

HOUR_MS = 3600 * 1000


async def _described(prefix: str) -> dict[str, tuple[int, int, dict[str, str]]]:
    """Each topic under `prefix`: (partitions, replicas of its first partition, its configs)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP_SERVERS)
    await admin.start()
    try:
        names = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        shapes = {
            t["topic"]: (len(t["partitions"]), len(t["partitions"][0]["replicas"]))
            for t in await admin.describe_topics(names)
        }
        responses: Any = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
        configs: dict[str, dict[str, str]] = {}
        for response in responses:
            for _code, _message, _type, name, entries in response.resources:
                configs[name] = {entry[0]: entry[1] for entry in entries}
        return {name: (*shapes[name], configs[name]) for name in names}
    finally:
        await admin.close()


def test_the_tool_makes_every_topic_as_its_settings_say(monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"{TOPIC_PREFIX}tool{uuid.uuid4().hex[:6]}."
    for name, value in {
        "TOPIC_PREFIX": prefix,
        # The local broker is a cluster of one: a replication factor above 1 is refused below.
        "REPLICATION_FACTOR": "1",
        "MIN_INSYNC_REPLICAS": "1",
        "PARTITIONS": "2",
        "RETENTION_MS": str(HOUR_MS),
        "DLQ_RETENTION_MS": str(2 * HOUR_MS),
    }.items():
        monkeypatch.setenv(f"OMS_KAFKA_{name}", value)
    try:
        assert topics_tool.main([]) == 0
        described = asyncio.run(_described(prefix))

        assert sorted(described) == sorted(prefix + name for name in all_topic_names())
        for name, (partitions, replicas, configs) in described.items():
            dead_letters = name.endswith(".dlq")
            assert partitions == (1 if dead_letters else 2), name
            assert replicas == 1, name
            assert configs["min.insync.replicas"] == "1", name
            assert configs["retention.ms"] == str((2 if dead_letters else 1) * HOUR_MS), name

        # A second run finds them all and leaves them alone.
        assert topics_tool.main([]) == 0
        assert asyncio.run(_described(prefix)) == described
    finally:
        asyncio.run(
            topics_tool.delete_topics_with_prefix(
                bootstrap_servers=BOOTSTRAP_SERVERS, prefix=prefix
            )
        )


async def test_the_production_default_is_refused_by_a_cluster_of_one_broker() -> None:
    prefix = f"{TOPIC_PREFIX}rf{uuid.uuid4().hex[:6]}."

    with pytest.raises(RuntimeError, match="OMS_KAFKA_REPLICATION_FACTOR=1"):
        await topics_tool.ensure_topics(
            bootstrap_servers=BOOTSTRAP_SERVERS, prefix=prefix, layout=topics_tool.TopicLayout()
        )

    assert await _described(prefix) == {}
