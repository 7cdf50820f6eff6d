"""A location's counters of a SKU: adjustments, counts, and what may never happen to them."""

from __future__ import annotations

import pytest

from services.inventory.domain.errors import (
    AdjustmentSignMismatch,
    InsufficientStock,
    NotEnoughOnHand,
    OnHandBelowReserved,
)
from services.inventory.domain.stock import Movement, Reason, StockLevel, adjustment


class TestAdjustment:
    @pytest.mark.parametrize(
        ("reason", "delta"),
        [
            (Reason.RECEIVED, 5),
            (Reason.FOUND, 1),
            (Reason.DAMAGED, -2),
            (Reason.LOST, -1),
            (Reason.COUNT_CORRECTION, 3),
            (Reason.COUNT_CORRECTION, -3),
        ],
    )
    def test_a_reason_that_fits_the_direction_becomes_a_movement(
        self, reason: Reason, delta: int
    ) -> None:
        movement = adjustment(reason, delta, note="forklift")
        assert movement == Movement(reason, on_hand_delta=delta, note="forklift")

    @pytest.mark.parametrize(
        ("reason", "delta"),
        [(Reason.RECEIVED, -5), (Reason.FOUND, -1), (Reason.DAMAGED, 2), (Reason.LOST, 1)],
    )
    def test_a_reason_against_the_direction_is_refused(self, reason: Reason, delta: int) -> None:
        with pytest.raises(AdjustmentSignMismatch):
            adjustment(reason, delta)

    def test_an_adjustment_of_nothing_is_refused(self) -> None:
        with pytest.raises(AdjustmentSignMismatch):
            adjustment(Reason.COUNT_CORRECTION, 0)

    @pytest.mark.parametrize("reason", [Reason.RESERVED, Reason.COMMITTED, Reason.COUNTED])
    def test_movements_inventory_makes_itself_are_no_adjustment(self, reason: Reason) -> None:
        with pytest.raises(AdjustmentSignMismatch):
            adjustment(reason, 1)


class TestStockLevel:
    def test_available_leaves_out_reserved_units_and_safety_stock(self) -> None:
        assert StockLevel("A", "LAMP", on_hand=10, reserved=3, safety_stock=2).available == 5

    def test_available_is_never_negative_when_a_count_falls_into_the_safety_stock(
        self,
    ) -> None:
        assert StockLevel("A", "LAMP", on_hand=3, reserved=2, safety_stock=5).available == 0

    def test_on_hand_may_not_drop_below_what_is_reserved(self) -> None:
        level = StockLevel("A", "LAMP", on_hand=5, reserved=4)
        with pytest.raises(OnHandBelowReserved) as refused:
            level.apply(adjustment(Reason.DAMAGED, -2))
        assert refused.value.extra == {"on_hand": 3, "reserved": 4}
        assert (level.on_hand, level.reserved) == (5, 4), "a refused change changes nothing"

    def test_on_hand_may_not_drop_below_zero(self) -> None:
        level = StockLevel("A", "LAMP", on_hand=2)
        with pytest.raises(NotEnoughOnHand):
            level.apply(adjustment(Reason.LOST, -3))
        assert level.on_hand == 2

    def test_a_hold_may_not_take_more_than_is_available(self) -> None:
        level = StockLevel("A", "LAMP", on_hand=5, reserved=1, safety_stock=2)
        with pytest.raises(InsufficientStock):
            level.apply(Movement(Reason.RESERVED, reserved_delta=3))
        level.apply(Movement(Reason.RESERVED, reserved_delta=2))
        assert (level.reserved, level.available) == (3, 0)

    def test_reserved_may_not_drop_below_zero(self) -> None:
        with pytest.raises(ValueError, match="reserved"):
            StockLevel("A", "LAMP", on_hand=5, reserved=1).apply(
                Movement(Reason.RELEASED, reserved_delta=-2)
            )

    def test_a_commit_lowers_on_hand_and_reserved_together(self) -> None:
        level = StockLevel("A", "LAMP", on_hand=5, reserved=3)
        level.apply(Movement(Reason.COMMITTED, on_hand_delta=-3, reserved_delta=-3))
        assert (level.on_hand, level.reserved, level.available) == (2, 0, 2)

    def test_a_count_is_the_movement_that_gets_there(self) -> None:
        level = StockLevel("A", "LAMP", on_hand=5)
        assert level.count(8) == Movement(Reason.COUNTED, on_hand_delta=3)
        assert level.count(2) == Movement(Reason.COUNTED, on_hand_delta=-3)
        assert level.count(5) is None

    def test_changing_the_safety_stock_reports_whether_it_changed(self) -> None:
        level = StockLevel("A", "LAMP", on_hand=5)
        assert level.set_safety_stock(2) is True
        assert level.set_safety_stock(2) is False
        assert level.available == 3
