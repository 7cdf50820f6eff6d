"""Who gets stock that arrives while orders wait for it: first come, first served.

The queue is ordered by priority (higher first), then by the order's time, then by when the
reservation was made: never by chance, and never by who asks next. A waiting line may be
served in part; nobody behind it is served until it is whole.

The same order promises the queue its dates: when a delivery it counted on is cancelled or
moves, each waiting line is promised again from the deliveries still expected, front first,
and what none of them covers any more lapses (the order is routed again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.inventory.domain.allocation import Incoming


@dataclass(frozen=True)
class WaitingLine:
    reservation_id: UUID
    line_no: int
    backordered: int
    priority: int
    ordered_at: datetime
    created_at: datetime
    expected_at: datetime | None = None  # the date it was promised


@dataclass(frozen=True)
class Allocation:
    reservation_id: UUID
    line_no: int
    quantity: int


def queue_order(line: WaitingLine) -> tuple[int, datetime, datetime, str, int]:
    return (
        -line.priority,
        line.ordered_at,
        line.created_at,
        str(line.reservation_id),
        line.line_no,
    )


def allocate(waiting: Sequence[WaitingLine], free: int) -> list[Allocation]:
    """Hand `free` units to the queue, front first."""
    result: list[Allocation] = []
    for line in sorted(waiting, key=queue_order):
        if free <= 0:
            break
        step = min(line.backordered, free)
        result.append(Allocation(line.reservation_id, line.line_no, step))
        free -= step
    return result


@dataclass(frozen=True)
class Repromise:
    """A waiting line's promise after the deliveries changed: `backordered` units still wait,
    expected at `expected_at` (None when none wait), and `lapsed` units no delivery covers."""

    reservation_id: UUID
    line_no: int
    backordered: int
    lapsed: int
    expected_at: datetime | None
    previous_expected_at: datetime | None

    @property
    def later(self) -> bool:
        """The customer waits longer than promised (or for units nobody can promise now)."""
        if self.lapsed:
            return True
        if self.expected_at is None or self.previous_expected_at is None:
            return False
        return self.expected_at > self.previous_expected_at


def repromise(waiting: Sequence[WaitingLine], incoming: Sequence[Incoming]) -> list[Repromise]:
    """The queue promised again from the deliveries still expected: the front is covered by
    the soonest delivery, each line is expected when the delivery that completes it comes,
    and the units past the last delivery lapse. Only the lines whose promise changed."""
    deliveries = sorted(incoming, key=lambda d: d.expected_at)
    left = [d.quantity for d in deliveries]
    at = 0  # the delivery the next unit comes from
    changed: list[Repromise] = []
    for line in sorted(waiting, key=queue_order):
        covered = 0
        date: datetime | None = None
        while covered < line.backordered and at < len(deliveries):
            step = min(left[at], line.backordered - covered)
            covered += step
            left[at] -= step
            date = deliveries[at].expected_at
            if left[at] == 0:
                at += 1
        lapsed = line.backordered - covered
        if lapsed or date != line.expected_at:
            changed.append(
                Repromise(
                    line.reservation_id,
                    line.line_no,
                    covered,
                    lapsed,
                    date if covered else None,
                    line.expected_at,
                )
            )
    return changed
