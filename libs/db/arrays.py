"""Many rows in one statement of a fixed text: each column goes as one array parameter.

    INSERT_STEPS = unnest_insert("saga_step", {"order_id": "uuid", "name": "text", ...})
    await session.execute(INSERT_STEPS, column_arrays(rows, INSERT_STEPS_TYPES))

`unnest` turns the arrays back into rows, in order. Unlike a multi-row VALUES list its text
does not depend on the number of rows, so it is compiled and prepared once; unlike an
executemany, nothing is done per row but building the lists. A JSON column goes as text and
is cast back; an array column goes as its literal (`text_array`), because unnest cannot carry
an array per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import TextClause, text

from libs.db.engine import json_text

# Column types that go as text arrays and are cast back to their type in the SELECT.
_SENT_AS = {"jsonb": "text", "text[]": "text"}


def unnest_select(columns: Mapping[str, str], *, prefix: str = "") -> str:
    """`SELECT <columns> FROM unnest(<one array per column>) AS r(<columns>)`; `columns`
    maps each name to its PostgreSQL type, and the parameters are named after the columns
    (with `prefix` in front, for a statement that unnests two sets of columns)."""
    names = ", ".join(columns)
    restored = ", ".join(
        f"{name}::{kind}" if kind in _SENT_AS else name for name, kind in columns.items()
    )
    arrays = ", ".join(
        f"CAST(:{prefix}{name} AS {_SENT_AS.get(kind, kind)}[])" for name, kind in columns.items()
    )
    return f"SELECT {restored} FROM unnest({arrays}) AS r({names})"


def unnest_insert(table: str, columns: Mapping[str, str], *, suffix: str = "") -> TextClause:
    """INSERT of any number of rows; `suffix` may add ON CONFLICT or RETURNING."""
    return text(f"INSERT INTO {table} ({', '.join(columns)}) {unnest_select(columns)} {suffix}")


def unnest_update(table: str, key: str, columns: Mapping[str, str]) -> TextClause:
    """UPDATE of any number of rows, each found by `key` (one of `columns`) and given the
    other columns' values."""
    assignments = ", ".join(f"{name} = r.{name}" for name in columns if name != key)
    return text(
        f"UPDATE {table} AS t SET {assignments} "
        f"FROM ({unnest_select(columns)}) AS r WHERE t.{key} = r.{key}"
    )


def column_arrays(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]
) -> dict[str, list[Any]]:
    """The parameters of an unnest statement: one list per column, JSON as text."""
    arrays: dict[str, list[Any]] = {}
    for name, kind in columns.items():
        if kind == "jsonb":
            arrays[name] = [None if row[name] is None else json_text(row[name]) for row in rows]
        elif kind == "text[]":
            arrays[name] = [text_array(row[name]) for row in rows]
        else:
            arrays[name] = [row[name] for row in rows]
    return arrays


def text_array(items: Sequence[str]) -> str:
    """A PostgreSQL array literal of these strings."""
    return "{" + ",".join('"' + _escaped(item) + '"' for item in items) + "}"


def _escaped(item: str) -> str:
    return item.replace("\\", "\\\\").replace('"', '\\"')
