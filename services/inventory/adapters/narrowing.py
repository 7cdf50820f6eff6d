"""The caller's `locations` claim as a WHERE clause, so that a store device writes only at its
own locations and everything elsewhere is, to it, as if it did not exist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true


def at_locations(
    column: ColumnElement[Any], locations: frozenset[str] | None
) -> ColumnElement[bool]:
    """`column` (a location code) is one of `locations`; anything when `locations` is None
    (a token without the claim). An empty claim matches nothing."""
    if locations is None:
        return true()
    return column.in_(sorted(locations))
