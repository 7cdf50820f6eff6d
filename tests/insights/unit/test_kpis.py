"""The pure rules of the key figures: periods, buckets, cohorts, rates, percentiles and the
narrowing of a caller's figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.insights.domain.errors import InvalidPeriod
from services.insights.domain.kpis import (
    Granularity,
    Period,
    amount,
    bucket_count,
    bucket_start,
    in_cohort,
    narrowed,
    percentile,
    period,
    rate,
    seconds,
)

NOW = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)


def test_rates_round_to_four_decimals_and_are_null_without_a_denominator() -> None:
    assert rate(2, 10) == 0.2
    assert rate(1, 3) == 0.3333
    assert rate(2, 3) == 0.6667
    assert rate(0, 7) == 0.0
    assert rate(0, 0) is None


def test_durations_round_to_one_decimal() -> None:
    assert seconds(3600.04) == 3600.0
    assert seconds(12.25) == 12.2
    assert seconds(None) is None


def test_percentiles_interpolate_like_percentile_cont() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    # 0.9 * (5 - 1) = 3.6: between the 4th (40) and 5th (100) values
    assert percentile([100.0, 10.0, 30.0, 20.0, 40.0], 0.9) == pytest.approx(76.0)


def test_money_is_a_decimal_string_of_two_decimals() -> None:
    assert amount(Decimal("19.99")) == "19.99"
    assert amount(Decimal("20")) == "20.00"
    assert amount(None) == "0.00"


def test_buckets_are_utc_days_or_hours() -> None:
    moment = datetime(2026, 12, 6, 0, 30, tzinfo=UTC) + timedelta(hours=-2)  # 22:30 the 5th
    assert bucket_start(moment, Granularity.DAY) == datetime(2026, 12, 5, tzinfo=UTC)
    assert bucket_start(moment, Granularity.HOUR) == datetime(2026, 12, 5, 22, tzinfo=UTC)
    start = datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert bucket_count(start, start + timedelta(days=2), Granularity.DAY) == 3
    assert bucket_count(start, start + timedelta(hours=5), Granularity.HOUR) == 5


def test_an_order_counts_in_the_cohort_of_its_placement() -> None:
    p = Period(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC))
    assert in_cohort(datetime(2026, 12, 1, tzinfo=UTC), p)
    assert in_cohort(datetime(2026, 12, 1, 23, 59, tzinfo=UTC), p)
    assert not in_cohort(datetime(2026, 12, 2, tzinfo=UTC), p)  # `to` is exclusive
    assert not in_cohort(datetime(2026, 11, 30, 23, 59, tzinfo=UTC), p)


def test_the_default_period_is_the_seven_days_before_now_from_midnight() -> None:
    p = period(None, None, Granularity.DAY, now=NOW)
    assert p == Period(datetime(2026, 11, 29, tzinfo=UTC), NOW, Granularity.DAY)


@pytest.mark.parametrize(
    ("start", "end", "granularity"),
    [
        (NOW, NOW, Granularity.DAY),  # empty
        (NOW, NOW - timedelta(hours=1), Granularity.DAY),  # backwards
        (NOW - timedelta(days=367), NOW, Granularity.DAY),  # over 366 days
        (NOW - timedelta(days=32), NOW, Granularity.HOUR),  # over 24*31 hourly buckets
        (None, datetime(1, 1, 2, tzinfo=UTC), Granularity.DAY),  # the default start: year 0
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), NOW, Granularity.DAY),
    ],
)
def test_periods_it_cannot_give_figures_for_are_refused(
    start: datetime | None, end: datetime, granularity: Granularity
) -> None:
    with pytest.raises(InvalidPeriod):
        period(start, end, granularity, now=NOW)


def test_the_longest_periods_still_allowed() -> None:
    assert period(NOW - timedelta(days=366), NOW, Granularity.DAY, now=NOW).days == 366
    hour = NOW.replace(minute=0)
    assert period(hour - timedelta(days=31), hour, Granularity.HOUR, now=NOW)
    # The same length off the hour touches one bucket more.
    with pytest.raises(InvalidPeriod):
        period(NOW - timedelta(days=31), NOW, Granularity.HOUR, now=NOW)


def test_a_date_time_without_offset_is_utc() -> None:
    p = period(datetime(2026, 12, 1), datetime(2026, 12, 2), Granularity.DAY, now=NOW)
    assert p.start == datetime(2026, 12, 1, tzinfo=UTC)


def test_narrowing_a_callers_channels() -> None:
    assert narrowed(None, None).values is None  # back office: every channel
    assert narrowed(None, "web").values == frozenset({"web"})
    assert narrowed(frozenset({"web", "pos"}), None).values == frozenset({"web", "pos"})
    assert narrowed(frozenset({"web", "pos"}), "web").values == frozenset({"web"})
    # Another channel than its own: nothing, never that channel's figures.
    outside = narrowed(frozenset({"web"}), "marketplace")
    assert outside.values == frozenset() and outside.nothing
    assert narrowed(frozenset(), None).nothing
