"""libs.db.pagination: one keyset pagination for every list, the same SQL the lists wrote by
hand (compared compiled, on PostgreSQL's dialect), and cursors that round-trip."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Select, String, Table, select, tuple_
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.pagination import Keyset, by_datetime, by_int, by_text, by_uuid
from libs.http.pagination import InvalidCursor, encode_cursor

metadata = MetaData()
item = Table(
    "item",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("code", String, nullable=False),
    Column("status", String, nullable=False),
)

NEWEST_FIRST = Keyset(by_datetime(item.c.created_at), by_uuid(item.c.id), descending=True)
OLDEST_FIRST = Keyset(by_datetime(item.c.created_at), by_uuid(item.c.id))
BY_SEQ = Keyset(by_int(item.c.seq))
BY_SEQ_DESC = Keyset(by_int(item.c.seq), descending=True)
BY_CODE = Keyset(by_text(item.c.code))

AT = datetime(2026, 12, 5, 7, 30, 1, 123456, tzinfo=UTC)
ID = uuid.UUID("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")


def sql(statement: Select[Any]) -> tuple[str, dict[str, Any]]:
    compiled = statement.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    return str(compiled), dict(compiled.params)


def row(**values: Any) -> SimpleNamespace:
    return SimpleNamespace(**values)


@pytest.mark.unit
def test_newest_first_is_the_hand_written_tuple_comparison() -> None:
    filtered = select(item).where(item.c.status == "open")
    cursor = encode_cursor([AT.isoformat(), str(ID)])

    by_hand = (
        filtered.where(tuple_(item.c.created_at, item.c.id) < (AT, ID))
        .order_by(item.c.created_at.desc(), item.c.id.desc())
        .limit(51)
    )

    assert sql(NEWEST_FIRST.statement(filtered, limit=50, cursor=cursor)) == sql(by_hand)


@pytest.mark.unit
def test_oldest_first_compares_the_other_way() -> None:
    cursor = encode_cursor([AT.isoformat(), str(ID)])
    by_hand = (
        select(item)
        .where(tuple_(item.c.created_at, item.c.id) > (AT, ID))
        .order_by(item.c.created_at, item.c.id)
        .limit(11)
    )

    assert sql(OLDEST_FIRST.statement(select(item), limit=10, cursor=cursor)) == sql(by_hand)


@pytest.mark.unit
def test_one_key_compares_the_column_itself() -> None:
    by_hand_after = select(item).where(item.c.seq > 7).order_by(item.c.seq).limit(3)
    by_hand_before = select(item).where(item.c.seq < 7).order_by(item.c.seq.desc()).limit(3)
    by_hand_code = select(item).where(item.c.code > "DC-1").order_by(item.c.code).limit(3)

    assert sql(BY_SEQ.statement(select(item), limit=2, cursor=encode_cursor([7]))) == sql(
        by_hand_after
    )
    assert sql(BY_SEQ_DESC.statement(select(item), limit=2, cursor=encode_cursor([7]))) == sql(
        by_hand_before
    )
    assert sql(BY_CODE.statement(select(item), limit=2, cursor=encode_cursor(["DC-1"]))) == sql(
        by_hand_code
    )


@pytest.mark.unit
@pytest.mark.parametrize("cursor", [None, ""])
def test_without_a_cursor_the_first_page_is_only_ordered_and_limited(cursor: str | None) -> None:
    by_hand = select(item).order_by(item.c.created_at.desc(), item.c.id.desc()).limit(6)

    assert sql(NEWEST_FIRST.statement(select(item), limit=5, cursor=cursor)) == sql(by_hand)


@pytest.mark.unit
def test_a_page_with_one_row_more_has_a_cursor_after_its_last_row() -> None:
    rows = [row(created_at=AT, id=uuid.uuid4()) for _ in range(3)]

    page, next_cursor = NEWEST_FIRST.split(rows, 2)

    assert page == rows[:2]
    assert next_cursor == encode_cursor([AT.isoformat(), str(rows[1].id)])


@pytest.mark.unit
@pytest.mark.parametrize("count", [0, 1, 2])
def test_the_last_page_has_no_cursor(count: int) -> None:
    rows = [row(seq=n) for n in range(count)]

    page, next_cursor = BY_SEQ.split(rows, 2)

    assert page == rows
    assert next_cursor is None


@pytest.mark.unit
def test_a_cursor_round_trips_to_the_rows_key_values() -> None:
    cursor = NEWEST_FIRST.cursor_of(row(created_at=AT, id=ID, seq=1))

    assert NEWEST_FIRST.position(cursor) == [AT, ID]
    assert BY_SEQ.position(BY_SEQ.cursor_of(row(seq=41))) == [41]
    assert BY_CODE.position(BY_CODE.cursor_of(row(code="DC-1"))) == ["DC-1"]


@pytest.mark.unit
def test_the_cursor_is_the_one_the_lists_wrote_by_hand() -> None:
    """Byte for byte, so a cursor a client holds from before the lists used the helper still
    continues where it was issued."""
    r = row(created_at=AT, id=ID, seq=41, code="DC-1")

    assert NEWEST_FIRST.cursor_of(r) == encode_cursor([AT.isoformat(), str(ID)])
    assert OLDEST_FIRST.cursor_of(r) == encode_cursor([AT.isoformat(), str(ID)])
    assert BY_SEQ_DESC.cursor_of(r) == encode_cursor([41])
    assert BY_CODE.cursor_of(r) == encode_cursor(["DC-1"])
    assert Keyset(by_uuid(item.c.id)).cursor_of(r) == encode_cursor([str(ID)])


@pytest.mark.unit
def test_a_labelled_column_is_read_from_its_label() -> None:
    keyset = Keyset(by_uuid(item.c.id, attribute="item_id"))

    assert keyset.cursor_of(row(item_id=ID)) == encode_cursor([str(ID)])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("keyset", "cursor"),
    [
        (NEWEST_FIRST, "%%%"),  # not base64
        (NEWEST_FIRST, encode_cursor([AT.isoformat()])),  # another list's length
        (NEWEST_FIRST, encode_cursor(["yesterday", str(ID)])),  # not a date-time
        (NEWEST_FIRST, encode_cursor([1733385600, str(ID)])),  # a number for a date-time
        (NEWEST_FIRST, encode_cursor([AT.isoformat(), "not-a-uuid"])),
        (NEWEST_FIRST, encode_cursor([AT.isoformat(), 7])),  # a number for a UUID
        (BY_SEQ, encode_cursor(["7"])),  # a string for a number
        (BY_SEQ, encode_cursor([True])),  # JSON true is no sequence number
        (BY_SEQ, encode_cursor([7.5])),  # nor is a fraction
        (BY_SEQ, encode_cursor([None])),
        (BY_CODE, encode_cursor([7])),
    ],
)
def test_a_cursor_this_list_never_issued_is_refused(keyset: Keyset, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        keyset.statement(select(item), limit=10, cursor=cursor)


@pytest.mark.unit
def test_a_keyset_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one sort key"):
        Keyset()


class _Result:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def all(self) -> list[Any]:
        return self.rows


class _Session:
    """Answers one statement with fixed rows and keeps it: the helper's SQL is compared above."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows
        self.statements: list[Any] = []

    async def execute(self, statement: Any) -> _Result:
        self.statements.append(statement)
        return _Result(self.rows)


@pytest.mark.unit
def test_page_reads_one_row_more_and_splits() -> None:
    session = _Session([row(seq=n) for n in (8, 9, 10)])

    page, next_cursor = asyncio.run(
        BY_SEQ.page(cast(AsyncSession, session), select(item), limit=2, cursor=encode_cursor([7]))
    )

    assert [r.seq for r in page] == [8, 9]
    assert next_cursor == encode_cursor([9])
    assert sql(session.statements[0]) == sql(
        select(item).where(item.c.seq > 7).order_by(item.c.seq).limit(3)
    )
