"""Business days as carriers count them: Monday to Friday."""

from __future__ import annotations

from datetime import date, timedelta

_SATURDAY = 5  # date.weekday(): Monday is 0


def next_business_day(day: date) -> date:
    """The first Monday-to-Friday day after `day`: the earliest a shipped order placed on
    `day` can arrive (dispatched the same day, one day in transit)."""
    day += timedelta(days=1)
    while day.weekday() >= _SATURDAY:
        day += timedelta(days=1)
    return day
