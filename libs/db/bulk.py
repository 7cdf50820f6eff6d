"""Rows for several tables written by one statement: one round trip, one implicit transaction.

    sql, args = inserts_in_one_statement([(sales_order, [order_row]), (order_line, line_rows)])
    await connection.execute(sql, *args)

Each table's rows become a data-modifying CTE (`WITH t0 AS (INSERT ...), t1 AS (INSERT ...)
SELECT 1`). PostgreSQL runs the whole statement atomically, checks foreign keys at its end (so
a line may point at the order inserted beside it), and, outside an explicit transaction,
commits it on its own: no BEGIN and COMMIT round trips. The text depends only on the shape
(tables, columns, row counts), so it is built once per shape and the driver's prepared
statement is reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table

TableRows = tuple[Table, Sequence[Mapping[str, Any]]]


def inserts_in_one_statement(parts: Sequence[TableRows]) -> tuple[str, list[Any]]:
    """The statement inserting every part's rows (each part's rows share one set of keys),
    and its arguments in order."""
    shape: list[tuple[str, tuple[str, ...], int]] = []
    args: list[Any] = []
    for table, rows in parts:
        if not rows:
            continue
        columns = tuple(rows[0])
        shape.append((table.name, columns, len(rows)))
        for row in rows:
            args.extend(row[column] for column in columns)
    if not shape:
        raise ValueError("nothing to insert")
    return _statement(tuple(shape)), args


@lru_cache(maxsize=256)
def _statement(shape: tuple[tuple[str, tuple[str, ...], int], ...]) -> str:
    ctes = []
    n = 0
    for i, (table, columns, count) in enumerate(shape):
        rows = []
        for _ in range(count):
            rows.append("(" + ", ".join(f"${n + k + 1}" for k in range(len(columns))) + ")")
            n += len(columns)
        names = ", ".join(_quoted(c) for c in columns)
        ctes.append(f"t{i} AS (INSERT INTO {_quoted(table)} ({names}) VALUES {', '.join(rows)})")
    return "WITH " + ",\n".join(ctes) + "\nSELECT 1"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
