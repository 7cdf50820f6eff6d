"""The pure rules of the key figures: the period asked for, its buckets, the cohort an order
counts in, rates, percentiles, durations, and which channels a caller's figures cover.

The queries compute the same percentiles in SQL (percentile_cont); `percentile` here is the
definition, which the tests hold the SQL to."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from services.insights.domain.errors import InvalidPeriod

MAX_PERIOD = timedelta(days=366)
MAX_HOURLY_BUCKETS = 24 * 31
DEFAULT_DAYS = 7
RATE_DECIMALS = 4
SECONDS_DECIMALS = 1


class Granularity(StrEnum):
    DAY = "day"
    HOUR = "hour"


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, cut into buckets of `granularity`."""

    start: datetime
    end: datetime
    granularity: Granularity = Granularity.DAY

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def period(
    start: datetime | None,
    end: datetime | None,
    granularity: Granularity,
    *,
    now: datetime,
) -> Period:
    """The period asked for: `end` defaults to now, `start` to 00:00 UTC seven days before
    `end`. Refused (InvalidPeriod) when empty, longer than 366 days, or more than 24*31
    hourly buckets, or beyond the dates a calendar can hold (year 1 to 9999)."""
    try:
        return _period(start, end, granularity, now=now)
    except OverflowError as exc:
        raise InvalidPeriod("the period reaches beyond the years 1 to 9999") from exc


def _period(
    start: datetime | None, end: datetime | None, granularity: Granularity, *, now: datetime
) -> Period:
    end = _utc(end) if end is not None else now
    if start is None:
        day = (end - timedelta(days=DEFAULT_DAYS)).astimezone(UTC)
        start = day.replace(hour=0, minute=0, second=0, microsecond=0)
    start = _utc(start)
    if end <= start:
        raise InvalidPeriod(f"`to` ({end.isoformat()}) is not after `from` ({start.isoformat()})")
    if end - start > MAX_PERIOD:
        raise InvalidPeriod(f"the period is longer than {MAX_PERIOD.days} days")
    if (
        granularity is Granularity.HOUR
        and bucket_count(start, end, granularity) > MAX_HOURLY_BUCKETS
    ):
        raise InvalidPeriod(f"more than {MAX_HOURLY_BUCKETS} hourly buckets: ask by day")
    return Period(start, end, granularity)


def _utc(moment: datetime) -> datetime:
    # A date-time without an offset is taken as UTC, the buckets' zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def bucket_start(moment: datetime, granularity: Granularity) -> datetime:
    """The start of the UTC bucket `moment` falls in (what SQL's date_trunc(.., 'UTC') gives)."""
    utc = moment.astimezone(UTC)
    if granularity is Granularity.HOUR:
        return utc.replace(minute=0, second=0, microsecond=0)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def bucket_count(start: datetime, end: datetime, granularity: Granularity) -> int:
    """How many buckets [start, end) touches."""
    step = timedelta(hours=1) if granularity is Granularity.HOUR else timedelta(days=1)
    first = bucket_start(start, granularity)
    return math.ceil((end - first) / step)


def in_cohort(placed_at: datetime, of: Period) -> bool:
    """An order counts in the period (and the bucket) of its placement, whatever happens to it
    later and whenever that is."""
    return of.start <= placed_at < of.end


def rate(numerator: int, denominator: int) -> float | None:
    """numerator / denominator rounded to 4 decimals; None when the denominator is 0."""
    if denominator == 0:
        return None
    return round(numerator / denominator, RATE_DECIMALS)


def seconds(value: float | None) -> float | None:
    """A duration in seconds rounded to 1 decimal; None when there is none."""
    return None if value is None else round(value, SECONDS_DECIMALS)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The continuous percentile (linear interpolation between the closest ranks), as
    PostgreSQL's percentile_cont computes it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return ordered[lower]
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def amount(value: Decimal | None) -> str:
    """Money as a decimal string with the currency's usual two decimals ("19.99")."""
    return str((value or Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class Scope:
    """The channels (or locations) a caller's figures cover: `None` every one, an empty set
    none."""

    values: frozenset[str] | None

    @property
    def nothing(self) -> bool:
        return self.values is not None and not self.values


def narrowed(allowed: frozenset[str] | None, asked: str | None) -> Scope:
    """What a caller narrowed to `allowed` (None: not narrowed) sees when it asks for `asked`
    (None: every one it may see). Asking for one outside its claim finds nothing, as a
    narrowed order search does (order-capture lists none, never another channel's)."""
    if asked is None:
        return Scope(allowed)
    if allowed is not None and asked not in allowed:
        return Scope(frozenset())
    return Scope(frozenset({asked}))
