"""Statements run on the driver's connection under a session's transaction.

A statement through a SQLAlchemy session costs about four times what the same statement
costs on asyncpg itself (measured here: ~170 against ~40 us of CPU), in the execution
context, the result wrapping and the greenlet hops. The hot statements a unit of work runs
for every message (its inbox row, its key locks, its outbox rows, its arrays of rows) are
fixed texts that need none of that, so they go to the asyncpg connection under the
session's transaction: the same transaction, committed or rolled back with everything else.

Errors then come from asyncpg, not as SQLAlchemy's wrappers: `is_disconnect` tells a lost
connection (a retry cures it) from the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import cache
from types import SimpleNamespace
from typing import Any

import asyncpg
from sqlalchemy import Insert, Select, TextClause, Update
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.errors import is_unavailable

Statement = TextClause | Select[Any] | Insert | Update
# The dialect statements are compiled with, for the driver.
POSTGRESQL = PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy


async def driver_of(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection of the session's transaction, begun on it if it was not yet.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with its own first statement: a
    statement on the driver before that would run (and commit) on its own. So the adapter
    is asked to begin here; it is private API, and the integration tests hold the promise
    (a driver statement rolls back with the session's).

    Found once per transaction of the session and kept in `session.info`: asking the session
    for its connection costs two greenlet hops, and a unit of work asks for every statement."""
    transaction = session.sync_session.get_transaction()
    known = session.info.get(_DRIVER_KEY)
    if transaction is not None and transaction.is_active and known and known[0] is transaction:
        return known[1]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapter: Any = raw.dbapi_connection
    if adapter._transaction is None:
        async with adapter._execute_mutex:
            if adapter._transaction is None:
                try:
                    await adapter._start_transaction()
                except Exception as exc:
                    if is_unavailable(exc):
                        # SQLAlchemy invalidates a connection that fails under its own
                        # statements, not under this private call: the pool kept handing the
                        # closed connection back, and a consumer retrying at once (never idle
                        # long enough to be pinged) failed on it for good after a restart.
                        await connection.invalidate(exc)
                    raise
    driver: asyncpg.Connection = raw.driver_connection
    session.info[_DRIVER_KEY] = (session.sync_session.get_transaction(), driver)
    return driver


_DRIVER_KEY = "libs.db.driver"


async def execute(session: AsyncSession, statement: Statement, params: Mapping[str, Any]) -> None:
    sql, names = positional(statement)
    await (await driver_of(session)).execute(sql, *(params[name] for name in names))


async def fetch(
    session: AsyncSession, statement: Statement, params: Mapping[str, Any]
) -> list[asyncpg.Record]:
    sql, names = positional(statement)
    return list(await (await driver_of(session)).fetch(sql, *(params[name] for name in names)))


def fields(record: asyncpg.Record) -> SimpleNamespace:
    """A record's columns as attributes, as a SQLAlchemy row has them. asyncpg's own UUID
    type becomes the standard one, as SQLAlchemy returns it (orjson, for one, writes only
    the standard type)."""
    return SimpleNamespace(
        **{
            name: uuid.UUID(bytes=value.bytes)
            if isinstance(value, uuid.UUID) and type(value) is not uuid.UUID
            else value
            for name, value in record.items()
        }
    )


@cache
def positional(statement: Statement) -> tuple[str, tuple[str, ...]]:
    """The statement's text with asyncpg's $n parameters, and the names they stand for;
    compiled once per statement (a fixed text, or a Core statement without expanding
    parameters)."""
    compiled = statement.compile(dialect=POSTGRESQL)
    return str(compiled), tuple(compiled.positiontup or ())


def is_disconnect(exc: BaseException) -> bool:
    """asyncpg's own: the connection is gone or the server is going away or not ready."""
    return isinstance(
        exc,
        asyncpg.InterfaceError
        | asyncpg.PostgresConnectionError
        | asyncpg.exceptions.OperatorInterventionError,
    )
