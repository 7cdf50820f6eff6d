"""The pure parts of the growth copier and the end-to-end measurement."""

from __future__ import annotations

import json

import pytest

from bench.end_to_end import ROUTED, RatePoint, RoutedWatch, backlog_slope
from bench.growth import Column, copied, copy_statement, statements_for


def test_ids_are_derived_from_the_copy_number_so_they_match_across_databases() -> None:
    assert copied(Column("order_id", "uuid", False, False)) == "md5(m.n || ':' || t.order_id)::uuid"


def test_unique_text_gets_a_suffix_and_history_moves_back_but_deadlines_stay() -> None:
    assert copied(Column("order_number", "text", False, True)) == "t.order_number || '-g' || m.n"
    assert "8.64 seconds" in copied(Column("created_at", "timestamptz", False, False))
    assert copied(Column("deadline_at", "timestamptz", False, False)) == "t.deadline_at"
    assert copied(Column("status", "text", False, False)) == "t.status"


def test_identity_columns_are_left_to_the_database() -> None:
    columns = [Column("seq", "int8", True, False), Column("order_id", "uuid", False, False)]
    statement = copy_statement("saga_step", columns, "saga_step t", "t.order_id")
    assert statement.startswith("INSERT INTO saga_step (order_id) SELECT md5(")
    assert "JOIN growth_map m ON t.order_id = m.template_id" in statement


def test_child_rows_find_their_order_through_their_parent() -> None:
    columns = {
        "reservation": [
            Column("id", "uuid", False, False),
            Column("order_id", "uuid", False, False),
        ],
        "reservation_line": [Column("reservation_id", "uuid", False, False)],
    }
    reservation, line = statements_for("inventory", columns)
    assert "FROM reservation t JOIN growth_map m ON t.order_id" in reservation
    assert "JOIN reservation p ON p.id = t.reservation_id" in line
    assert "ON p.order_id = m.template_id" in line


def event(kind: str, order_id: str) -> bytes:
    return json.dumps({"type": kind, "data": {"order_id": order_id}}).encode()


def test_an_order_counts_as_routed_when_its_first_fulfilment_is_created() -> None:
    watch = RoutedWatch()
    watch.take(event("oms.orchestration.order_routed", "a"), 1.0)  # reserved, not yet paid
    assert "a" not in watch.routed
    watch.take(event(ROUTED, "a"), 2.0)
    watch.take(event(ROUTED, "a"), 3.0)  # a second fulfilment of the same order
    watch.take(event("oms.orchestration.order_on_hold", "b"), 2.5)
    assert watch.routed == {"a": 2.0}
    assert watch.stopped == {"b": "order_on_hold"}


def test_a_growing_backlog_has_the_slope_it_grows_by() -> None:
    growing = [(t / 2, 10 + 3 * t) for t in range(40)]  # 6 orders/s
    assert backlog_slope(growing) == pytest.approx(6.0)
    assert backlog_slope([(t / 2, 5) for t in range(40)]) == pytest.approx(0.0)


def test_a_rate_is_flat_only_if_its_backlog_stops_growing_and_nothing_was_refused() -> None:
    watch = RoutedWatch(routed={"a": 10.4, "b": 10.9})
    point = RatePoint(rate=2, seconds=1, start=10.0, placed={"a": 10.0, "b": 10.5, "c": 10.5})
    point.samples = [(t / 2, 1) for t in range(10)]
    summary = point.summary(watch)
    assert summary["routed"] == 2 and summary["unrouted"] == 1 and summary["errors"] == 1
    assert summary["p50_ms"] == pytest.approx(400.0)
    assert summary["p99_ms"] == pytest.approx(400.0)
    assert summary["backlog_flat"] is True
    point.samples = [(t / 2, t) for t in range(10)]  # 2 orders/s more every second
    assert point.summary(watch)["backlog_flat"] is False
    point.samples, point.refused = [(t / 2, 1) for t in range(10)], 1
    assert point.summary(watch)["backlog_flat"] is False
