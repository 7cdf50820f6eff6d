"""A token's narrowing claim (`channels`, `locations`) as a WHERE clause on the column it names."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from sqlalchemy import ColumnElement, true

Codes = Set[str] | None
"""A claim's codes: `None` when the token has no such claim (not narrowed on that axis)."""


def within(column: ColumnElement[Any], codes: Codes) -> ColumnElement[bool]:
    """`column` is one of `codes`; anything when there is no claim. An empty claim matches
    nothing (`IN ()` is false), so the object is not found, exactly like a missing one."""
    if codes is None:
        return true()
    return column.in_(sorted(codes))
