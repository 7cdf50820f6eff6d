"""Which changed stock rows may have units for waiting orders (the others' queues are not read)."""

from __future__ import annotations

import pytest

from services.inventory.domain.stock import Reason, StockLevel, TouchedLevel


def touched(*reasons: str) -> TouchedLevel:
    return TouchedLevel(StockLevel("A", "LAMP", 5, 2), available_before=4, reasons=list(reasons))


@pytest.mark.parametrize(
    "reasons", [[Reason.RESERVED], [Reason.COMMITTED], [Reason.RESERVED, Reason.COMMITTED]]
)
def test_holds_and_shipments_free_nothing(reasons: list[str]) -> None:
    assert touched(*reasons).freed_nothing


@pytest.mark.parametrize(
    "reasons",
    [
        [Reason.RELEASED],
        [Reason.RESERVED, Reason.RELEASED],
        [Reason.COUNTED],
        [Reason.IMPORTED],
        ["safety_stock"],
        [Reason.INBOUND_RECEIVED],
        [],
    ],
)
def test_anything_else_may_have_freed_units(reasons: list[str]) -> None:
    assert not touched(*reasons).freed_nothing
