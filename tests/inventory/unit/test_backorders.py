"""Who gets arriving stock: priority first, then order time, then reservation time; FCFS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.inventory.domain.allocation import Incoming
from services.inventory.domain.backorders import (
    Allocation,
    Repromise,
    WaitingLine,
    allocate,
    queue_order,
    repromise,
)

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)


def waiting(
    n: int,
    backordered: int,
    *,
    priority: int = 0,
    ordered_min: int = 0,
    created_min: int = 0,
    line_no: int = 1,
    expected_at: datetime | None = None,
) -> WaitingLine:
    return WaitingLine(
        reservation_id=UUID(int=n),
        line_no=line_no,
        backordered=backordered,
        priority=priority,
        ordered_at=T0 + timedelta(minutes=ordered_min),
        created_at=T0 + timedelta(minutes=created_min),
        expected_at=expected_at,
    )


def served(allocations: list[Allocation]) -> list[tuple[int, int]]:
    return [(a.reservation_id.int, a.quantity) for a in allocations]


class TestQueueOrder:
    def test_the_older_order_comes_first_whenever_it_was_reserved(self) -> None:
        newer_order = waiting(1, 1, ordered_min=5, created_min=0)
        older_order = waiting(2, 1, ordered_min=1, created_min=9)
        assert sorted([newer_order, older_order], key=queue_order) == [older_order, newer_order]

    def test_priority_beats_order_time(self) -> None:
        old = waiting(1, 1, ordered_min=0)
        urgent = waiting(2, 1, priority=5, ordered_min=60)
        assert served(allocate([old, urgent], 1)) == [(2, 1)]

    def test_the_earlier_reservation_breaks_a_tie_in_order_time(self) -> None:
        later = waiting(1, 1, ordered_min=3, created_min=8)
        earlier = waiting(2, 1, ordered_min=3, created_min=4)
        assert served(allocate([later, earlier], 1)) == [(2, 1)]

    def test_complete_ties_are_still_ordered_the_same_way_every_time(self) -> None:
        lines = [waiting(2, 1, line_no=2), waiting(2, 1, line_no=1), waiting(1, 1)]
        order = [(x.reservation_id.int, x.line_no) for x in sorted(lines, key=queue_order)]
        assert order == [(1, 1), (2, 1), (2, 2)]
        assert sorted(reversed(lines), key=queue_order) == sorted(lines, key=queue_order)


class TestAllocate:
    def test_every_waiting_line_is_served_when_enough_arrives(self) -> None:
        queue = [waiting(1, 2, ordered_min=0), waiting(2, 3, ordered_min=1)]
        assert served(allocate(queue, 10)) == [(1, 2), (2, 3)]

    def test_the_front_line_may_be_served_in_part(self) -> None:
        queue = [waiting(1, 5, ordered_min=0), waiting(2, 1, ordered_min=1)]
        assert served(allocate(queue, 3)) == [(1, 3)]

    def test_nobody_behind_is_served_until_the_front_line_is_whole(self) -> None:
        queue = [waiting(2, 1, ordered_min=1), waiting(1, 4, ordered_min=0)]
        assert served(allocate(queue, 3)) == [(1, 3)], "the small later order does not jump"

    def test_what_is_left_goes_to_the_next_in_line(self) -> None:
        queue = [waiting(3, 2, ordered_min=2), waiting(1, 2), waiting(2, 2, ordered_min=1)]
        assert served(allocate(queue, 5)) == [(1, 2), (2, 2), (3, 1)]

    def test_nothing_is_handed_out_when_nothing_is_free(self) -> None:
        assert allocate([waiting(1, 2)], 0) == []
        assert allocate([], 5) == []


# --- promised again when a delivery is cancelled ---------------------------------------------

DAY2 = T0 + timedelta(days=2)
DAY9 = T0 + timedelta(days=9)


def test_the_queue_is_promised_again_from_the_later_delivery_front_first() -> None:
    # Two deliveries of 5: the first was cancelled, so both lines now wait for day 9's, the
    # first in the queue on it, the second no longer covered at all (lapsed in part).
    first = waiting(1, 3, ordered_min=0, expected_at=DAY2)
    second = waiting(2, 4, ordered_min=1, expected_at=DAY9)

    changed = repromise([second, first], [Incoming(DAY9, 5)])

    assert changed == [
        Repromise(
            UUID(int=1), 1, backordered=3, lapsed=0, expected_at=DAY9, previous_expected_at=DAY2
        ),
        Repromise(
            UUID(int=2), 1, backordered=2, lapsed=2, expected_at=DAY9, previous_expected_at=DAY9
        ),
    ]
    assert [c.later for c in changed] == [True, True]


def test_lines_whose_promise_holds_are_not_named() -> None:
    line = waiting(1, 3, expected_at=DAY2)

    assert repromise([line], [Incoming(DAY2, 3), Incoming(DAY9, 10)]) == []


def test_a_line_no_delivery_covers_lapses_whole_with_no_date() -> None:
    (changed,) = repromise([waiting(1, 3, expected_at=DAY2)], [])

    assert (changed.backordered, changed.lapsed, changed.expected_at) == (3 - 3, 3, None)
    assert changed.later


def test_an_earlier_promise_is_not_a_delay() -> None:
    (changed,) = repromise([waiting(1, 2, expected_at=DAY9)], [Incoming(DAY2, 2)])

    assert changed.expected_at == DAY2
    assert not changed.later


def test_a_line_spanning_two_deliveries_is_expected_with_the_one_completing_it() -> None:
    (changed,) = repromise(
        [waiting(1, 6, expected_at=DAY2)], [Incoming(DAY9, 4), Incoming(DAY2, 3)]
    )

    assert (changed.backordered, changed.lapsed, changed.expected_at) == (6, 0, DAY9)


def test_priority_puts_a_later_order_first_on_the_soonest_delivery() -> None:
    early = waiting(1, 2, ordered_min=0, expected_at=DAY2)
    urgent = waiting(2, 2, ordered_min=5, priority=10, expected_at=DAY9)

    changed = repromise([early, urgent], [Incoming(DAY2, 2)])

    assert [(c.reservation_id.int, c.backordered, c.lapsed) for c in changed] == [
        (2, 2, 0),
        (1, 0, 2),
    ]
