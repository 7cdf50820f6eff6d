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
