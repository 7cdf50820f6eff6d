"""The services' engine against the real database: a connection that died while it sat idle
in the pool is replaced before anyone uses it."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from libs.db import engine as engines
from libs.db.engine import asyncpg_dsn, make_engine
from tests.support.environment import database_url_for


async def test_a_connection_killed_while_idle_is_replaced_before_use(
    migrated_databases: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "IDLE_PING_S", 0.0)  # every returned connection counts as idle
    url = database_url_for("order_capture")
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
        # The database ends the pooled connection's backend (a restart, a failover) ...
        admin = await asyncpg.connect(asyncpg_dsn(url), ssl=False)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        # ... and the next user still gets an answer, from a new connection.
        async with engine.connect() as conn:
            second = await conn.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()
