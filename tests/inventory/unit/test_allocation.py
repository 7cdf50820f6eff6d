"""Planning a reservation: which location serves each line, all or nothing, backorders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.inventory.domain.allocation import (
    Incoming,
    Network,
    Plan,
    PlannedLine,
    Request,
    held_where_named,
    plan,
    promise_date,
)
from services.inventory.domain.stock import StockLevel

DAY_1 = datetime(2026, 12, 1, 8, tzinfo=UTC)
DAY_2 = DAY_1 + timedelta(days=1)
DAY_3 = DAY_1 + timedelta(days=2)


def network(
    *levels: StockLevel,
    eligible: dict[str, list[str]] | None = None,
    incoming: dict[tuple[str, str], list[Incoming]] | None = None,
    waiting: dict[tuple[str, str], int] | None = None,
) -> Network:
    by_key = {lv.key: lv for lv in levels}
    if eligible is None:
        eligible = {}
        for code, sku in sorted(by_key):
            eligible.setdefault(sku, []).append(code)
    return Network(levels=by_key, eligible=eligible, incoming=incoming or {}, waiting=waiting or {})


def served(result: Plan) -> list[tuple[str, str, int, int]]:
    return [(ln.location_code, ln.request.sku, ln.held, ln.backordered) for ln in result.lines]


def line(result: Plan, index: int = 0) -> PlannedLine:
    return result.lines[index]


class TestPlanFromStock:
    def test_a_line_without_location_goes_where_most_is_available(self) -> None:
        net = network(StockLevel("A", "LAMP", 3), StockLevel("B", "LAMP", 7))
        result = plan([Request("LAMP", 2)], net, allow_backorder=False)
        assert served(result) == [("B", "LAMP", 2, 0)]
        assert result.complete

    def test_ties_go_to_the_more_preferred_location(self) -> None:
        levels = (StockLevel("A", "LAMP", 5), StockLevel("B", "LAMP", 5))
        first = plan([Request("LAMP", 1)], network(*levels), allow_backorder=False)
        preferred = network(*levels, eligible={"LAMP": ["B", "A"]})
        second = plan([Request("LAMP", 1)], preferred, allow_backorder=False)
        assert (line(first).location_code, line(second).location_code) == ("A", "B")

    def test_a_named_location_serves_the_line_even_if_another_has_more(self) -> None:
        net = network(StockLevel("A", "LAMP", 2), StockLevel("B", "LAMP", 50))
        result = plan([Request("LAMP", 2, location_code="A")], net, allow_backorder=False)
        assert served(result) == [("A", "LAMP", 2, 0)]

    def test_a_line_is_never_split_over_locations(self) -> None:
        net = network(StockLevel("A", "LAMP", 2), StockLevel("B", "LAMP", 2))
        result = plan([Request("LAMP", 3)], net, allow_backorder=False)
        assert result.lines == []
        (short,) = result.shortfalls
        assert (short.available, short.location_code) == (2, "A")

    def test_one_short_line_rejects_every_line(self) -> None:
        net = network(StockLevel("A", "LAMP", 5), StockLevel("A", "SHADE", 1))
        requests = [Request("LAMP", 2, "A"), Request("SHADE", 3, "A")]
        result = plan(requests, net, allow_backorder=False)
        assert not result.complete
        assert result.lines == [], "all or nothing: the line that fits is not planned either"
        (short,) = result.shortfalls
        assert (short.request, short.available, short.location_code) == (requests[1], 1, "A")

    def test_every_short_line_is_reported(self) -> None:
        net = network(StockLevel("A", "LAMP", 1), StockLevel("A", "SHADE", 0))
        requests = [Request("LAMP", 2, "A"), Request("SHADE", 3, "A")]
        result = plan(requests, net, allow_backorder=False)
        assert [(s.request.sku, s.available) for s in result.shortfalls] == [
            ("LAMP", 1),
            ("SHADE", 0),
        ]

    def test_two_lines_of_one_sku_never_take_one_unit_twice(self) -> None:
        net = network(StockLevel("A", "LAMP", 3))
        result = plan(
            [Request("LAMP", 2, "A"), Request("LAMP", 2, "A")], net, allow_backorder=False
        )
        (short,) = result.shortfalls
        assert short.available == 1, "the first line took 2 of the 3"
        assert result.lines == []

    def test_the_second_line_of_a_sku_goes_where_units_are_left(self) -> None:
        net = network(StockLevel("A", "LAMP", 3), StockLevel("B", "LAMP", 2))
        result = plan([Request("LAMP", 2), Request("LAMP", 2)], net, allow_backorder=False)
        assert served(result) == [("A", "LAMP", 2, 0), ("B", "LAMP", 2, 0)]

    def test_safety_stock_is_never_taken(self) -> None:
        net = network(StockLevel("A", "LAMP", on_hand=5, reserved=1, safety_stock=2))
        too_much = plan([Request("LAMP", 3, "A")], net, allow_backorder=False)
        assert too_much.shortfalls[0].available == 2
        fits = plan([Request("LAMP", 2, "A")], net, allow_backorder=False)
        assert served(fits) == [("A", "LAMP", 2, 0)]

    def test_a_sku_no_location_stocks_is_short_of_everything(self) -> None:
        result = plan([Request("GHOST", 1)], network(), allow_backorder=False)
        (short,) = result.shortfalls
        assert (short.available, short.location_code) == (0, None)

    def test_a_named_location_without_a_stock_row_has_nothing(self) -> None:
        result = plan([Request("LAMP", 1, "Z")], network(), allow_backorder=False)
        (short,) = result.shortfalls
        assert (short.available, short.location_code) == (0, "Z")

    def test_incoming_stock_is_ignored_without_backorder(self) -> None:
        net = network(StockLevel("A", "LAMP", 1), incoming={("A", "LAMP"): [Incoming(DAY_1, 10)]})
        result = plan([Request("LAMP", 3, "A")], net, allow_backorder=False)
        assert result.shortfalls[0].available == 1


class TestPlanWithBackorder:
    def test_stock_on_hand_serves_the_whole_line_when_it_can(self) -> None:
        net = network(StockLevel("A", "LAMP", 5), incoming={("A", "LAMP"): [Incoming(DAY_1, 10)]})
        result = plan([Request("LAMP", 3, "A")], net, allow_backorder=True)
        assert served(result) == [("A", "LAMP", 3, 0)]
        assert line(result).expected_at is None

    def test_holds_what_is_on_hand_and_promises_the_rest(self) -> None:
        net = network(StockLevel("A", "LAMP", 2), incoming={("A", "LAMP"): [Incoming(DAY_1, 5)]})
        result = plan([Request("LAMP", 5, "A")], net, allow_backorder=True)
        assert served(result) == [("A", "LAMP", 2, 3)]
        assert line(result).expected_at == DAY_1

    def test_promises_come_after_the_units_already_promised(self) -> None:
        incoming = {("A", "LAMP"): [Incoming(DAY_2, 5), Incoming(DAY_1, 3)]}
        net = network(StockLevel("A", "LAMP", 0), incoming=incoming, waiting={("A", "LAMP"): 2})
        first_delivery = plan([Request("LAMP", 1, "A")], net, allow_backorder=True)
        second_delivery = plan([Request("LAMP", 2, "A")], net, allow_backorder=True)
        assert line(first_delivery).expected_at == DAY_1, "2 waiting + 1 fit the 3 of day 1"
        assert line(second_delivery).expected_at == DAY_2, "2 waiting + 2 need day 2"

    def test_two_lines_of_one_plan_are_promised_in_turn(self) -> None:
        incoming = {("A", "LAMP"): [Incoming(DAY_1, 3), Incoming(DAY_3, 3)]}
        net = network(StockLevel("A", "LAMP", 0), incoming=incoming)
        result = plan([Request("LAMP", 3, "A"), Request("LAMP", 3, "A")], net, allow_backorder=True)
        assert [ln.expected_at for ln in result.lines] == [DAY_1, DAY_3]
        assert served(result) == [("A", "LAMP", 0, 3), ("A", "LAMP", 0, 3)]

    def test_a_line_the_incoming_stock_cannot_cover_is_short(self) -> None:
        incoming = {("A", "LAMP"): [Incoming(DAY_1, 4)]}
        net = network(StockLevel("A", "LAMP", 1), incoming=incoming, waiting={("A", "LAMP"): 2})
        result = plan([Request("LAMP", 5, "A")], net, allow_backorder=True)
        (short,) = result.shortfalls
        assert short.available == 3, "1 on hand + the 2 incoming units nobody waits for"
        assert result.lines == []

    def test_a_line_without_location_takes_the_soonest_promise(self) -> None:
        incoming = {("A", "LAMP"): [Incoming(DAY_2, 9)], ("B", "LAMP"): [Incoming(DAY_1, 9)]}
        net = network(StockLevel("A", "LAMP", 1), StockLevel("B", "LAMP", 0), incoming=incoming)
        result = plan([Request("LAMP", 3)], net, allow_backorder=True)
        assert served(result) == [("B", "LAMP", 0, 3)]
        assert line(result).expected_at == DAY_1

    def test_on_the_same_date_the_location_holding_more_wins(self) -> None:
        incoming = {("A", "LAMP"): [Incoming(DAY_1, 9)], ("B", "LAMP"): [Incoming(DAY_1, 9)]}
        net = network(StockLevel("A", "LAMP", 1), StockLevel("B", "LAMP", 2), incoming=incoming)
        result = plan([Request("LAMP", 4)], net, allow_backorder=True)
        assert served(result) == [("B", "LAMP", 2, 2)]


class TestPromiseDate:
    def test_the_delivery_that_covers_the_units_names_the_date(self) -> None:
        incoming = [Incoming(DAY_3, 10), Incoming(DAY_1, 2)]
        assert promise_date(incoming, already_promised=0, quantity=2) == DAY_1
        assert promise_date(incoming, already_promised=1, quantity=2) == DAY_3
        assert promise_date(incoming, already_promised=2, quantity=10) == DAY_3

    def test_no_date_when_the_incoming_stock_does_not_cover_it(self) -> None:
        assert promise_date([Incoming(DAY_1, 2)], already_promised=1, quantity=2) is None
        assert promise_date([], already_promised=0, quantity=1) is None


class TestHeldWhereNamed:
    def test_every_line_is_held_in_full_where_it_names(self) -> None:
        lamp, shade = Request("LAMP", 2, "WH-B"), Request("SHADE", 1, "WH-A")
        result = held_where_named([lamp, shade])
        assert result.complete
        assert served(result) == [("WH-B", "LAMP", 2, 0), ("WH-A", "SHADE", 1, 0)]
        # The same lines the locking planner makes when the stock is there.
        both = network(StockLevel("WH-B", "LAMP", 5), StockLevel("WH-A", "SHADE", 5))
        assert result == plan([lamp, shade], both, allow_backorder=False)

    def test_a_line_naming_no_location_is_not_for_it(self) -> None:
        with pytest.raises(ValueError):
            held_where_named([Request("LAMP", 1)])
