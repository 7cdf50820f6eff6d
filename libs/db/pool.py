"""A plain asyncpg pool for the few hot statements that need no ORM and no session.

A SQLAlchemy session costs three round trips around its statements (the pool's pre-ping,
BEGIN, COMMIT) and compiles each statement on the way. The order-capture hot path writes a
whole order in one statement (libs.db.bulk), so it borrows a connection here, runs it in
autocommit, and gives the connection back without asyncpg's reset query (the statement
changed no session state to reset). JSON columns take and give Python values, as they do
through SQLAlchemy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson

from libs.db.engine import ConnectionOptions, asyncpg_dsn, json_text

# How long a statement may run, and how long a caller waits for a free connection, before
# it gives up: a slow database turns into a 503, never a hang.
COMMAND_TIMEOUT_S = 10.0
ACQUIRE_TIMEOUT_S = 5.0


class RawPool:
    """Created on first use, inside the running event loop (asyncpg pools belong to one)."""

    def __init__(
        self,
        url: str,
        *,
        size: int,
        application_name: str,
        connection: ConnectionOptions | None = None,
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._connection = connection or ConnectionOptions()
        self._ssl = self._connection.ssl(url)
        self._size = size
        self._application_name = application_name
        self._pool: asyncpg.Pool | None = None
        self._creating = asyncio.Lock()

    async def _get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._creating:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._size,
                        command_timeout=COMMAND_TIMEOUT_S,
                        timeout=self._connection.connect_timeout_s,
                        ssl=self._ssl,
                        init=_json_codecs,
                        reset=_nothing_to_reset,
                        server_settings=self._connection.server_settings(self._application_name),
                    )
        return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = await self._get()
        async with pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as connection:
            yield connection

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _json_codecs(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, schema="pg_catalog", encoder=json_text, decoder=orjson.loads, format="text"
        )


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """Users of this pool run single statements in autocommit: no transaction, listener,
    cursor or setting is left behind, so asyncpg's reset round trip is skipped."""
