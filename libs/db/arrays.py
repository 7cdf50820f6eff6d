"""Many rows in one statement of a fixed text: each column goes as one array parameter.

    STEPS = {"order_id": "uuid", "name": "text", ...}
    INSERT_STEPS = unnest_insert("saga_step", STEPS)
    await execute(session, INSERT_STEPS, column_arrays(rows, STEPS))  # libs.db.driver

`unnest` turns the arrays back into rows, in order. Unlike a multi-row VALUES list its text
does not depend on the number of rows, so it is compiled and prepared once; unlike an
executemany, nothing is done per row but building the lists. A JSON column goes as text and
is cast back; an array column goes as its literal (`text_array`), because unnest cannot carry
an array per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, TextClause, text

from libs.db.driver import POSTGRESQL
from libs.db.engine import json_text

# Column types that go as text arrays and are cast back to their type in the SELECT.
_SENT_AS = {"jsonb": "text", "json": "text", "text[]": "text"}


def unnest_select(columns: Mapping[str, str], *, prefix: str = "") -> str:
    """`SELECT <columns> FROM unnest(<one array per column>) AS r(<columns>)`; `columns`
    maps each name to its PostgreSQL type, and the parameters are named after the columns
    (with `prefix` in front, for a statement that unnests two sets of columns)."""
    names = ", ".join(_quoted(name) for name in columns)
    restored = ", ".join(
        f"{_quoted(name)}::{kind}" if kind in _SENT_AS else _quoted(name)
        for name, kind in columns.items()
    )
    arrays = ", ".join(
        f"CAST(:{prefix}{name} AS {_SENT_AS.get(kind, kind)}[])" for name, kind in columns.items()
    )
    return f"SELECT {restored} FROM unnest({arrays}) AS r({names})"


def types_of(table: Table, names: Iterable[str]) -> dict[str, str]:
    """The PostgreSQL types of these columns of the table, as `unnest_*` take them."""
    return {name: _type_of(table, name) for name in names}


@cache
def _type_of(table: Table, name: str) -> str:
    kind = str(table.c[name].type.compile(dialect=POSTGRESQL)).lower()
    if kind.endswith("[]") and kind not in _SENT_AS:
        raise ValueError(f"{table.name}.{name}: only text arrays go through unnest here")
    return kind


def unnest_insert(table: str, columns: Mapping[str, str], *, suffix: str = "") -> TextClause:
    """INSERT of any number of rows; `suffix` may add ON CONFLICT or RETURNING."""
    names = ", ".join(_quoted(name) for name in columns)
    return text(f"INSERT INTO {table} ({names}) {unnest_select(columns)} {suffix}")


def unnest_update(table: str, key: str, columns: Mapping[str, str]) -> TextClause:
    """UPDATE of any number of rows, each found by `key` (one of `columns`) and given the
    other columns' values."""
    assignments = ", ".join(
        f"{_quoted(name)} = r.{_quoted(name)}" for name in columns if name != key
    )
    return text(
        f"UPDATE {table} AS t SET {assignments} "
        f"FROM ({unnest_select(columns)}) AS r WHERE t.{_quoted(key)} = r.{_quoted(key)}"
    )


def column_arrays(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]
) -> dict[str, list[Any]]:
    """The parameters of an unnest statement: one list per column, JSON as text."""
    arrays: dict[str, list[Any]] = {}
    for name, kind in columns.items():
        if kind in ("jsonb", "json"):
            # None too becomes JSON null, as SQLAlchemy's JSON types write it.
            arrays[name] = [
                row[name] if isinstance(row[name], JsonText) else json_text(row[name])
                for row in rows
            ]
        elif kind == "text[]":
            arrays[name] = [text_array(row[name]) for row in rows]
        else:
            arrays[name] = [row[name] for row in rows]
    return arrays


class JsonText(str):
    """A JSON document already written as text: a JSON column takes it as it is. For a
    caller that holds many rows until a commit (a batch's routing decisions) and keeps them
    as compact text rather than as the objects they were made from."""


def text_array(items: Sequence[str]) -> str:
    """A PostgreSQL array literal of these strings."""
    return "{" + ",".join('"' + _escaped(item) + '"' for item in items) + "}"


def _escaped(item: str) -> str:
    return item.replace("\\", "\\\\").replace('"', '\\"')


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
