"""aiokafka clients with the settings this system depends on.

aiokafka's defaults are unsafe for an outbox relay and an inbox consumer (acks=1, no idempotence,
auto-commit on, offset reset "latest"), so every client is built here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

PRODUCER_SAFETY: dict[str, Any] = {"acks": "all", "enable_idempotence": True}
# aiokafka waits retry_backoff_ms (100 by default) between attempts to reach a broker that is
# down, and logs each failed one: half a second keeps a broker outage from flooding the log
# (libs.observability.logging.RepeatFilter keeps what still comes to one line per interval)
# while a broker that is back is found again within a second.
RECONNECT_BACKOFF_MS = 500

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
        retry_backoff_ms=RECONNECT_BACKOFF_MS,
        **PRODUCER_SAFETY,
    )


# A fetch the broker holds for a batching window (see make_consumer) returns early only once
# this much has gathered: more than a consumer's batch of events, so that the window, not the
# size, closes a batch of a moderate flow; a backlog returns at once all the same.
BATCH_FETCH_MIN_BYTES = 1024 * 1024
# Without a batching window: the broker answers as soon as anything is there (a long poll).
LONG_POLL_MAX_WAIT_MS = 500


def make_consumer(
    *,
    bootstrap_servers: str,
    group_id: str,
    client_id: str,
    group_instance_id: str | None = None,
    batch_window_s: float = 0.0,
) -> AIOKafkaConsumer:
    """A static member (group_instance_id) that restarts within the session timeout gets its
    partitions straight back, without a rebalance of the whole group.

    With a batching window, the broker holds each fetch until the window has passed (or a
    backlog is there), so that a moderate flow arrives in batches, one transaction each. The
    client fetches in the background while the last batch is being handled, so the window
    runs beside the handling instead of after it."""
    window_ms = round(batch_window_s * 1000)
    fetch: dict[str, int] = (
        {"fetch_max_wait_ms": window_ms, "fetch_min_bytes": BATCH_FETCH_MIN_BYTES}
        if window_ms > 0
        else {"fetch_max_wait_ms": LONG_POLL_MAX_WAIT_MS, "fetch_min_bytes": 1}
    )
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        group_instance_id=group_instance_id or None,
        max_poll_records=500,
        session_timeout_ms=10000,
        heartbeat_interval_ms=2000,
        retry_backoff_ms=RECONNECT_BACKOFF_MS,
        **fetch,
        **CONSUMER_SAFETY,
    )
