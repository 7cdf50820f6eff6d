"""The retention settings and the cut-offs and statements the retention job derives from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from libs.bootstrap import retention_policy
from libs.config import ServiceSettings
from libs.outbox.retention import (
    Cutoffs,
    Deleted,
    RetentionPolicy,
    delete_older_than,
    delete_oldest_by_seq,
)

# What a topic keeps when it is created without a retention.ms, as libs.messaging.admin creates
# them: the broker's log.retention.hours default.
KAFKA_DEFAULT_RETENTION = timedelta(hours=168)


def settings(**values: Any) -> ServiceSettings:
    url = "postgresql+asyncpg://returns:secret@db/returns"
    return ServiceSettings(SERVICE_NAME="returns", HTTP_PORT=8004, DATABASE_URL=url, **values)


def test_the_defaults_keep_the_promises() -> None:
    policy = retention_policy(settings())

    assert policy == RetentionPolicy(
        idempotency=timedelta(hours=24),
        inbox=timedelta(days=14),
        audit=timedelta(days=365),
        batch=5000,
    )
    assert policy.inbox > KAFKA_DEFAULT_RETENTION
    assert settings().RETENTION_INTERVAL_S == 300


def test_the_policy_follows_the_settings() -> None:
    policy = retention_policy(
        settings(
            IDEMPOTENCY_RETENTION_S=3600,
            INBOX_RETENTION_S=30 * 86400,
            AUDIT_RETENTION_S=7 * 86400,
            RETENTION_BATCH=10,
        )
    )

    assert policy == RetentionPolicy(
        idempotency=timedelta(hours=1),
        inbox=timedelta(days=30),
        audit=timedelta(days=7),
        batch=10,
    )


def test_each_table_is_cut_at_its_own_age() -> None:
    now = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    policy = RetentionPolicy(
        idempotency=timedelta(hours=24),
        inbox=timedelta(days=14),
        audit=timedelta(days=365),
        batch=1,
    )

    assert policy.cutoffs(now) == Cutoffs(
        idempotency=datetime(2030, 5, 31, 12, 0, tzinfo=UTC),
        inbox=datetime(2030, 5, 18, 12, 0, tzinfo=UTC),
        audit=datetime(2029, 6, 1, 12, 0, tzinfo=UTC),
    )
    assert Deleted(idempotency=1, inbox=2, audit=3).total == 6


def test_every_delete_is_bounded_and_skips_what_another_run_holds() -> None:
    for statement in (
        delete_older_than("inbox", "received_at"),
        delete_oldest_by_seq("audit_log", "at"),
    ):
        sql = statement.text
        assert "LIMIT :batch FOR UPDATE SKIP LOCKED" in sql
        assert sql.startswith("DELETE FROM")
