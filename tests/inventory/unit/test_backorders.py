"""Who gets arriving stock: priority first, then order time, then reservation time; FCFS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.inventory.domain.backorders import Allocation, WaitingLine, allocate, queue_order

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)


def waiting(
    n: int,
    backordered: int,
    *,
    priority: int = 0,
    ordered_min: int = 0,
    created_min: int = 0,
    line_no: int = 1,
) -> WaitingLine:
    return WaitingLine(
        reservation_id=UUID(int=n),
        line_no=line_no,
        backordered=backordered,
        priority=priority,
        ordered_at=T0 + timedelta(minutes=ordered_min),
        created_at=T0 + timedelta(minutes=created_min),
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
