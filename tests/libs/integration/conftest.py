"""A private schema in a test database, so library tests never meet a service's own tables."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import Column, Integer, MetaData, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.db.engine import make_engine, make_session_factory
from libs.db.metadata import NAMING_CONVENTION
from libs.outbox.tables import audit_table, idempotency_table, inbox_table, outbox_table
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX, database_url_for

SCHEMA = "libtest"


@dataclass
class LibDb:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: Table
    inbox: Table
    idempotency: Table
    effect: Table
    audit: Table
    url: str


@pytest.fixture(scope="session")
async def lib_db(migrated_databases: None) -> AsyncIterator[LibDb]:
    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)
    tables = {
        "outbox": outbox_table(metadata),
        "inbox": inbox_table(metadata),
        "idempotency": idempotency_table(metadata),
        "audit": audit_table(metadata),
        # What a handler does, counted: a duplicate effect shows up as a second row.
        "effect": Table(
            "effect",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("message", Text),
        ),
    }
    url = database_url_for("order_capture")
    engine = make_engine(url, pool_size=5)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    yield LibDb(engine, make_session_factory(engine), url=url, **tables)
    await engine.dispose()


async def create_topic(partitions: int = 3) -> str:
    """A fresh logical topic (and its DLQ) under this run's prefix; returns the logical name."""
    logical = f"libtest.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP_SERVERS)
    await admin.start()
    try:
        result = await admin.create_topics(
            [
                NewTopic(TOPIC_PREFIX + logical, num_partitions=partitions, replication_factor=1),
                NewTopic(TOPIC_PREFIX + logical + ".dlq", num_partitions=1, replication_factor=1),
            ]
        )
        assert all(code == 0 for _, code, *_ in result.topic_errors), result.topic_errors
    finally:
        await admin.close()
    return logical
