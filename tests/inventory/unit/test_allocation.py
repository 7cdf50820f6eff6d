import pytest

from services.inventory.domain.commands import RequestedLine
from services.inventory.domain.errors import OnHandBelowReserved
from services.inventory.domain.model import Allocation, Shortfall, StockLevel, allocate


def levels(*rows: tuple[str, str, int, int]) -> dict[str, list[StockLevel]]:
    out: dict[str, list[StockLevel]] = {}
    for loc, sku, on_hand, reserved in rows:
        out.setdefault(sku, []).append(StockLevel(loc, sku, on_hand, reserved))
    return out


class TestAllocate:
    def test_takes_each_line_from_the_location_with_most_available(self) -> None:
        plan = allocate([RequestedLine("A", 3)], levels(("L1", "A", 5, 0), ("L2", "A", 9, 2)))
        assert plan.complete
        assert plan.allocations == [Allocation("A", "L2", 3)]

    def test_is_all_or_nothing_when_one_line_is_short(self) -> None:
        plan = allocate(
            [RequestedLine("A", 1), RequestedLine("B", 4)],
            levels(("L1", "A", 5, 0), ("L1", "B", 3, 0)),
        )
        assert not plan.complete
        assert plan.allocations == []
        assert plan.shortfalls == [Shortfall("B", 4, 3)]

    def test_reserved_stock_is_not_available(self) -> None:
        plan = allocate([RequestedLine("A", 2)], levels(("L1", "A", 5, 4)))
        assert plan.shortfalls == [Shortfall("A", 2, 1)]

    def test_unknown_sku_is_short_with_zero_available(self) -> None:
        assert allocate([RequestedLine("Z", 1)], {}).shortfalls == [Shortfall("Z", 1, 0)]


class TestStockLevel:
    def test_reserve_beyond_available_is_refused(self) -> None:
        level = StockLevel("L1", "A", on_hand=2, reserved=1)
        with pytest.raises(ValueError):
            level.reserve(2)

    def test_count_below_reserved_is_refused(self) -> None:
        level = StockLevel("L1", "A", on_hand=5, reserved=3)
        with pytest.raises(OnHandBelowReserved):
            level.count(2)
        level.count(3)
        assert level.available == 0
