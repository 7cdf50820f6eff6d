"""Keyset pagination of a read query, written once: `?limit=&cursor=` -> (rows, next_cursor).

A list is ordered by one or more sort keys, the last of which is unique (the id), all ascending
or all descending. The cursor (libs.http.pagination: opaque, base64 JSON) holds the last row's
key values; the next page is the rows strictly after them in that order:

    (created_at, id) < (:created_at, :id)      newest first
    (expected_at, id) > (:expected_at, :id)    soonest first
    seq > :seq                                 one key

One more row than the page is read, so whether there is a next page is known without a count.

    ORDERS = Keyset(by_datetime(sales_order.c.created_at), by_uuid(sales_order.c.id),
                    descending=True)
    rows, next_cursor = await ORDERS.page(session, query, limit=limit, cursor=cursor)

`query` is the filtered select, not yet ordered or limited: the keyset orders it (by its keys
only, so the order and the cursor can never disagree) and limits it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from libs.http.pagination import InvalidCursor, decode_cursor, encode_cursor


@dataclass(frozen=True)
class SortKey:
    """One sort key: its column, how a cursor value becomes a SQL value (`parse`, raising
    TypeError or ValueError on a value this list never issued) and how a row's value becomes a
    cursor value (`dump`). `attribute` names the value on a result row (the column's key unless
    the query labels it otherwise)."""

    column: ColumnElement[Any]
    parse: Callable[[Any], Any]
    dump: Callable[[Any], Any]
    attribute: str = ""

    @property
    def name(self) -> str:
        return self.attribute or str(self.column.key)


def _require(kind: type[Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        # bool is an int to Python, never to a cursor.
        if not isinstance(value, kind) or isinstance(value, bool):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return parse


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO date-time string, got {type(value).__name__}")
    return datetime.fromisoformat(value)


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError(f"expected a UUID string, got {type(value).__name__}")
    return uuid.UUID(value)


def by_datetime(column: ColumnElement[Any], attribute: str = "") -> SortKey:
    """A timestamp: ISO 8601 in the cursor (`datetime.isoformat`)."""
    return SortKey(column, _datetime, datetime.isoformat, attribute)


def by_uuid(column: ColumnElement[Any], attribute: str = "") -> SortKey:
    """A UUID: its canonical string in the cursor."""
    return SortKey(column, _uuid, str, attribute)


def by_int(column: ColumnElement[Any], attribute: str = "") -> SortKey:
    """An integer (a sequence, a line number, a serial id): a JSON number in the cursor."""
    return SortKey(column, _require(int), int, attribute)


def by_text(column: ColumnElement[Any], attribute: str = "") -> SortKey:
    """A string (a code): as it is in the cursor."""
    return SortKey(column, _require(str), str, attribute)


class Keyset:
    """A list's order: its sort keys (the last one unique) and their one direction."""

    def __init__(self, *keys: SortKey, descending: bool = False) -> None:
        if not keys:
            raise ValueError("a keyset needs at least one sort key (the last one unique)")
        self.keys = keys
        self.descending = descending
        self._columns = tuple(key.column for key in keys)

    def position(self, cursor: str) -> list[Any]:
        """The cursor's key values as SQL values; InvalidCursor when it is not one of this
        list's (undecodable, another length, or a value of another type)."""
        values = decode_cursor(cursor, arity=len(self.keys))
        try:
            return [key.parse(value) for key, value in zip(self.keys, values, strict=True)]
        except (TypeError, ValueError) as exc:
            raise InvalidCursor("The cursor does not fit this list") from exc

    def after(self, query: Select[Any], cursor: str | None) -> Select[Any]:
        """`query` narrowed to the rows after the cursor (all of them without one)."""
        if not cursor:
            return query
        values = self.position(cursor)
        if len(self._columns) == 1:
            left: Any = self._columns[0]
            right: Any = values[0]
        else:
            left, right = tuple_(*self._columns), tuple(values)
        return query.where(left < right if self.descending else left > right)

    def ordered(self, query: Select[Any]) -> Select[Any]:
        """`query` in this list's order."""
        if self.descending:
            return query.order_by(*(column.desc() for column in self._columns))
        return query.order_by(*self._columns)

    def cursor_of(self, row: Any) -> str:
        """The cursor that continues after `row`."""
        return encode_cursor([key.dump(getattr(row, key.name)) for key in self.keys])

    def split(self, rows: Sequence[Any], limit: int) -> tuple[list[Any], str | None]:
        """Rows read with limit + 1 -> the page and the next cursor (None on the last page)."""
        page = list(rows[:limit])
        more = len(rows) > limit and bool(page)
        return page, self.cursor_of(page[-1]) if more else None

    def statement(self, query: Select[Any], *, limit: int, cursor: str | None) -> Select[Any]:
        """The statement that reads one page and one row more."""
        return self.ordered(self.after(query, cursor)).limit(limit + 1)

    async def page(
        self, session: AsyncSession, query: Select[Any], *, limit: int, cursor: str | None
    ) -> tuple[list[Row[Any]], str | None]:
        """One page of `query` (filtered, not yet ordered or limited) and the next cursor."""
        rows = (await session.execute(self.statement(query, limit=limit, cursor=cursor))).all()
        return self.split(rows, limit)
