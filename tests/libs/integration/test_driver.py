"""Statements on the driver under a session's transaction (libs.db.driver)."""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import text

from libs.db.driver import fetch, fields, positional
from tests.libs.integration.conftest import LibDb

PAIR = text("SELECT CAST(:id AS uuid) AS id, CAST(:n AS int) + 1 AS n, CAST(:id AS text) AS again")


def test_named_parameters_become_positional_once_each() -> None:
    sql, names = positional(PAIR)
    assert names == ("id", "n")
    assert sql.count("$1") == 2 and "$2" in sql


async def test_rows_read_on_the_driver_look_like_sqlalchemy_rows(lib_db: LibDb) -> None:
    wanted = uuid.uuid4()
    async with lib_db.sessions() as session, session.begin():
        (record,) = await fetch(session, PAIR, {"id": wanted, "n": 41})
    row = fields(record)
    # The standard UUID type, as SQLAlchemy returns it: orjson writes no other.
    assert type(row.id) is uuid.UUID and row.id == wanted
    assert orjson.dumps(row.id) == orjson.dumps(wanted)
    assert (row.n, row.again) == (42, str(wanted))


async def test_each_transaction_of_a_session_runs_its_own_statements(lib_db: LibDb) -> None:
    """The driver's connection is found once per transaction and kept: a statement after a
    commit belongs to the session's next transaction, and is rolled back with it."""
    table = f"driver_{uuid.uuid4().hex[:8]}"
    async with lib_db.sessions() as session:
        await session.execute(text(f"CREATE TABLE {table} (n int)"))
        await session.commit()
        for n in (1, 2):
            await fetch(session, text(f"INSERT INTO {table} VALUES (:n) RETURNING n"), {"n": n})
            await session.commit()
        await fetch(session, text(f"INSERT INTO {table} VALUES (:n) RETURNING n"), {"n": 3})
        await session.rollback()
        (found,) = await fetch(
            session, text(f"SELECT array_agg(n ORDER BY n) AS ns FROM {table}"), {}
        )
        await session.execute(text(f"DROP TABLE {table}"))
        await session.commit()
    assert found["ns"] == [1, 2]
