"""The retention job and the Idempotency-Key's 24 h on real PostgreSQL.

The plumbing tables live in a schema of their own here: the job deletes by age across a whole
table, and the audit log's batches look at its lowest `seq`, which other tests' rows would hold.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.db.engine import make_engine, make_session_factory
from libs.db.idempotency import IdempotencyKeys, StoredOutcome
from libs.db.metadata import NAMING_CONVENTION
from libs.outbox.retention import Deleted, Retention, RetentionPolicy
from libs.outbox.tables import audit_table, idempotency_table, inbox_table
from tests.support.environment import database_url_for

SCHEMA = "retentiontest"
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
POLICY = RetentionPolicy(
    idempotency=timedelta(hours=24), inbox=timedelta(days=14), audit=timedelta(days=365), batch=100
)


class FixedClock:
    def now(self) -> datetime:
        return NOW


@dataclass
class Plumbing:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    idempotency: Table
    inbox: Table
    audit: Table

    def retention(self, policy: RetentionPolicy = POLICY) -> Retention:
        return Retention(
            engine=self.engine,
            idempotency=self.idempotency,
            inbox=self.inbox,
            audit=self.audit,
            policy=policy,
            clock=FixedClock(),
        )


@pytest.fixture(scope="module")
async def schema(migrated_databases: None) -> AsyncIterator[Plumbing]:
    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)
    plumbing_tables = {
        "idempotency": idempotency_table(metadata),
        "inbox": inbox_table(metadata),
        "audit": audit_table(metadata),
    }
    engine = make_engine(database_url_for("order_capture"), pool_size=5)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    yield Plumbing(engine, make_session_factory(engine), **plumbing_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    await engine.dispose()


@pytest.fixture
async def db(schema: Plumbing) -> Plumbing:
    async with schema.engine.begin() as conn:
        await conn.execute(
            text(f"TRUNCATE {SCHEMA}.idempotency_key, {SCHEMA}.inbox, {SCHEMA}.audit_log")
        )
    return schema


async def add(db: Plumbing, tag: str, count: int, *, ages: dict[str, timedelta]) -> None:
    """`count` rows in each table, stamped the given age before NOW (keys "idempotency",
    "inbox", "audit"); `tag` names them apart."""
    async with db.engine.begin() as conn:
        if "idempotency" in ages:
            await conn.execute(
                insert(db.idempotency),
                [
                    {
                        "scope": f"test@{tag}",
                        "key": f"{tag}-{i}",
                        "fingerprint": "fp",
                        "created_at": NOW - ages["idempotency"],
                    }
                    for i in range(count)
                ],
            )
        if "inbox" in ages:
            await conn.execute(
                insert(db.inbox),
                [
                    {
                        "consumer": tag,
                        "event_id": str(i),
                        "event_type": "oms.test",
                        "topic": "oms.test",
                        "received_at": NOW - ages["inbox"],
                    }
                    for i in range(count)
                ],
            )
        if "audit" in ages:
            await conn.execute(
                insert(db.audit),
                [
                    {
                        "at": NOW - ages["audit"],
                        "actor": tag,
                        "event_id": uuid.uuid4(),
                        "event_type": "oms.test",
                        "resources": [f"test:{i}"],
                    }
                    for i in range(count)
                ],
            )


async def left(db: Plumbing) -> dict[str, list[str]]:
    """What remains of each table, by the tag the rows were added with."""
    async with db.engine.connect() as conn:
        keys = (await conn.execute(select(db.idempotency.c.scope))).scalars().all()
        inbox = (await conn.execute(select(db.inbox.c.consumer))).scalars().all()
        audit = (await conn.execute(select(db.audit.c.actor))).scalars().all()
    return {
        "idempotency": sorted(s.removeprefix("test@") for s in keys),
        "inbox": sorted(inbox),
        "audit": sorted(audit),
    }


EVERY_TABLE_PAST = {
    "idempotency": POLICY.idempotency + timedelta(seconds=1),
    "inbox": POLICY.inbox + timedelta(seconds=1),
    "audit": POLICY.audit + timedelta(seconds=1),
}
EVERY_TABLE_WITHIN = {
    "idempotency": POLICY.idempotency - timedelta(minutes=1),
    "inbox": POLICY.inbox - timedelta(minutes=1),
    "audit": POLICY.audit - timedelta(minutes=1),
}


async def test_rows_past_each_retention_go_and_younger_ones_stay(db: Plumbing) -> None:
    await add(db, "old", 3, ages=EVERY_TABLE_PAST)
    await add(db, "young", 2, ages=EVERY_TABLE_WITHIN)
    # Each table by its own retention: a key a day and a minute old goes, an inbox row of the
    # same age stays (14 days), and so does an audit row past 14 days (365).
    await add(db, "day", 1, ages={"inbox": timedelta(days=2), "audit": timedelta(days=20)})

    assert await db.retention().delete_batch() == Deleted(idempotency=3, inbox=3, audit=3)

    assert await left(db) == {
        "idempotency": ["young", "young"],
        "inbox": ["day", "young", "young"],
        "audit": ["day", "young", "young"],
    }
    # Run again, nothing more goes.
    assert await db.retention().delete_batch() == Deleted(idempotency=0, inbox=0, audit=0)


async def test_a_batch_deletes_at_most_the_batch_size_of_each_table(db: Plumbing) -> None:
    await add(db, "old", 25, ages=EVERY_TABLE_PAST)
    retention = db.retention(
        RetentionPolicy(
            idempotency=POLICY.idempotency, inbox=POLICY.inbox, audit=POLICY.audit, batch=10
        )
    )

    assert [await retention.run_once() for _ in range(4)] == [30, 30, 15, 0]
    assert await left(db) == {"idempotency": [], "inbox": [], "audit": []}


async def test_the_audit_log_goes_from_its_oldest_rows_and_stops_at_young_ones(
    db: Plumbing,
) -> None:
    await add(db, "old", 5, ages={"audit": POLICY.audit + timedelta(days=1)})
    await add(db, "young", 5, ages={"audit": timedelta(days=1)})
    retention = db.retention(
        RetentionPolicy(
            idempotency=POLICY.idempotency, inbox=POLICY.inbox, audit=POLICY.audit, batch=3
        )
    )

    assert [(await retention.delete_batch()).audit for _ in range(3)] == [3, 2, 0]
    assert (await left(db))["audit"] == ["young"] * 5


async def test_rows_another_run_holds_are_skipped_not_waited_for(db: Plumbing) -> None:
    await add(db, "old", 10, ages=EVERY_TABLE_PAST)
    async with db.engine.connect() as holder:
        # Another run's batch in the middle of its transaction: it holds 4 rows of each table.
        await holder.execute(
            text(
                f"SELECT 1 FROM {SCHEMA}.idempotency_key WHERE key IN ('old-0', 'old-1', 'old-2',"
                " 'old-3') FOR UPDATE"
            )
        )
        await holder.execute(
            text(f"SELECT 1 FROM {SCHEMA}.inbox WHERE event_id::int < 4 FOR UPDATE")
        )
        await holder.execute(
            text(
                f"SELECT 1 FROM {SCHEMA}.audit_log WHERE seq IN"
                f" (SELECT seq FROM {SCHEMA}.audit_log ORDER BY seq LIMIT 4) FOR UPDATE"
            )
        )
        # A run that waited for those locks would never come back while they are held.
        async with asyncio.timeout(10):
            deleted = await db.retention().delete_batch()
        assert deleted == Deleted(idempotency=6, inbox=6, audit=6)
        await holder.rollback()

    assert await db.retention().delete_batch() == Deleted(idempotency=4, inbox=4, audit=4)
    assert await left(db) == {"idempotency": [], "inbox": [], "audit": []}


async def test_two_runs_at_once_delete_every_old_row_once_without_an_error(db: Plumbing) -> None:
    await add(db, "old", 1500, ages=EVERY_TABLE_PAST)
    await add(db, "young", 20, ages=EVERY_TABLE_WITHIN)
    policy = RetentionPolicy(
        idempotency=POLICY.idempotency, inbox=POLICY.inbox, audit=POLICY.audit, batch=50
    )

    async def drain(retention: Retention) -> list[Deleted]:
        batches = []
        while (deleted := await retention.delete_batch()).total:
            batches.append(deleted)
        return batches

    first, second = await asyncio.gather(drain(db.retention(policy)), drain(db.retention(policy)))

    for table in ("idempotency", "inbox", "audit"):
        counts = [getattr(d, table) for d in first + second]
        assert sum(counts) == 1500, table
        assert max(counts) <= 50, table
    assert await left(db) == {
        "idempotency": ["young"] * 20,
        "inbox": ["young"] * 20,
        "audit": ["young"] * 20,
    }


# The Idempotency-Key's promise: honoured for its retention, and not a moment longer, even
# while its row is still there.


async def claim(
    db: Plumbing,
    key: str,
    fingerprint: str,
    *,
    completes_as: str | None = None,
    retention: timedelta = timedelta(hours=24),
) -> StoredOutcome | None:
    async with db.sessions() as session, session.begin():
        keys = IdempotencyKeys(session, db.idempotency, retention)
        earlier = await keys.claim(scope="test", key=key, fingerprint=fingerprint)
        if earlier is None and completes_as is not None:
            await keys.complete(resource_id=completes_as, status=201)
    return earlier


async def age_key(db: Plumbing, key: str, by: timedelta) -> None:
    """Makes the key's row `by` older, on the database's clock, which stamps and ages it."""
    async with db.engine.begin() as conn:
        await conn.execute(
            update(db.idempotency)
            .where(db.idempotency.c.key == key)
            .values(created_at=func.now() - by)
        )


async def test_a_key_within_its_retention_is_replayed(db: Plumbing) -> None:
    assert await claim(db, "k-within", "body-1", completes_as="first") is None
    await age_key(db, "k-within", timedelta(hours=23, minutes=59))

    assert await claim(db, "k-within", "body-1") == StoredOutcome("first", 201)


async def test_a_key_past_its_retention_is_a_new_key_though_its_row_is_still_there(
    db: Plumbing,
) -> None:
    assert await claim(db, "k-expired", "body-1", completes_as="first") is None
    await age_key(db, "k-expired", timedelta(hours=24, minutes=1))

    # Not replayed, and not refused as a reuse with another body: a new key.
    assert await claim(db, "k-expired", "body-2", completes_as="second") is None
    # From then on, its new use is what it replays, for a new 24 h.
    assert await claim(db, "k-expired", "body-2") == StoredOutcome("second", 201)
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(db.idempotency.c.fingerprint, db.idempotency.c.created_at).where(
                    db.idempotency.c.key == "k-expired"
                )
            )
        ).all()
        now = (await conn.execute(select(func.now()))).scalar_one()
    assert [r.fingerprint for r in rows] == ["body-2"]
    assert now - rows[0].created_at < timedelta(minutes=1)


async def test_the_retention_of_keys_is_the_configured_one(db: Plumbing) -> None:
    assert await claim(db, "k-hour", "body-1", completes_as="first") is None
    await age_key(db, "k-hour", timedelta(minutes=61))

    assert await claim(db, "k-hour", "body-1", retention=timedelta(hours=2)) == StoredOutcome(
        "first", 201
    )
    assert await claim(db, "k-hour", "body-1", retention=timedelta(hours=1)) is None


async def test_two_requests_taking_over_an_expired_key_at_once_act_once(db: Plumbing) -> None:
    assert await claim(db, "k-race", "body-1", completes_as="first") is None
    await age_key(db, "k-race", timedelta(days=2))

    async with db.sessions() as session, session.begin():
        keys = IdempotencyKeys(session, db.idempotency)
        assert await keys.claim(scope="test", key="k-race", fingerprint="body-2") is None
        # The second request's claim waits on the first's row lock until it commits.
        second = asyncio.create_task(claim(db, "k-race", "body-2"))
        await keys.complete(resource_id="second", status=201)
    assert await second == StoredOutcome("second", 201)
