"""Who gets stock that arrives while orders wait for it: first come, first served.

The queue is ordered by priority (higher first), then by the order's time, then by when the
reservation was made: never by chance, and never by who asks next. A waiting line may be
served in part; nobody behind it is served until it is whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class WaitingLine:
    reservation_id: UUID
    line_no: int
    backordered: int
    priority: int
    ordered_at: datetime
    created_at: datetime


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
