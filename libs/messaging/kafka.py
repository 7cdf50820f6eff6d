"""aiokafka clients with the settings this system depends on.

aiokafka's defaults are unsafe for an outbox relay and an inbox consumer (acks=1, no idempotence,
auto-commit on, offset reset "latest"), so every client is built here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

PRODUCER_SAFETY: dict[str, Any] = {"acks": "all", "enable_idempotence": True}
CONSUMER_SAFETY: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "isolation_level": "read_committed",
}


def make_producer(*, bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        linger_ms=5,
        request_timeout_ms=15000,
        **PRODUCER_SAFETY,
    )


def make_consumer(
    *,
    bootstrap_servers: str,
    group_id: str,
    client_id: str,
    group_instance_id: str | None = None,
) -> AIOKafkaConsumer:
    """A static member (group_instance_id) that restarts within the session timeout gets its
    partitions straight back, without a rebalance of the whole group."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        group_instance_id=group_instance_id or None,
        max_poll_records=500,
        session_timeout_ms=10000,
        heartbeat_interval_ms=2000,
        **CONSUMER_SAFETY,
    )
