"""The delivery ledger's pure rules: what `since` a replay takes, and what a ping sends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.notifications.domain.errors import InvalidReplaySince
from services.notifications.domain.ledger import PING_EVENT_TYPE, parse_since, ping_event

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("2026-12-05T10:00:00Z", datetime(2026, 12, 5, 10, 0, tzinfo=UTC)),
        ("2026-12-05t10:00:00z", datetime(2026, 12, 5, 10, 0, tzinfo=UTC)),
        ("2026-12-05 10:00:00Z", datetime(2026, 12, 5, 10, 0, tzinfo=UTC)),
        (
            "2026-12-05T11:30:00+01:00",
            datetime(2026, 12, 5, 11, 30, tzinfo=timezone(timedelta(hours=1))),
        ),
        # The + of an offset sent unencoded in a query string arrives as a space.
        (
            "2026-12-05T11:30:00 01:00",
            datetime(2026, 12, 5, 11, 30, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2026-12-05T09:00:00.5-02:00", datetime(2026, 12, 5, 11, 0, 0, 500000, tzinfo=UTC)),
        # Nanoseconds are cut to what Python keeps, microseconds.
        ("2026-12-05T10:00:00.123456789Z", datetime(2026, 12, 5, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-12-05T12:00:00Z", NOW),  # now itself is not the future
    ],
)
def test_since_takes_rfc_3339_times_with_an_offset(text: str, wanted: datetime) -> None:
    assert parse_since(text, NOW) == wanted


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-12-05",  # a date alone
        "2026-12-05T10:00:00",  # no offset: which zone?
        "20261205T100000Z",  # ISO 8601's basic format, not RFC 3339
        "2026-W49-6T10:00:00Z",  # a week date
        "1764928800",  # a Unix time
        "2026-13-05T10:00:00Z",  # no 13th month
        "2026-12-05T25:00:00Z",
        "2026-12-05T10:00:00+0100",  # an offset without its colon
    ],
)
def test_since_refuses_what_is_not_rfc_3339(text: str) -> None:
    with pytest.raises(InvalidReplaySince):
        parse_since(text, NOW)


def test_since_refuses_a_time_in_the_future() -> None:
    with pytest.raises(InvalidReplaySince, match="future"):
        parse_since("2026-12-05T12:00:01Z", NOW)
    with pytest.raises(InvalidReplaySince, match="future"):
        parse_since("2026-12-05T12:30:00+00:00", NOW)


def test_a_ping_is_a_small_cloud_event_naming_its_endpoint() -> None:
    endpoint_id = uuid.uuid4()

    ping = ping_event("ev-1", endpoint_id, NOW)

    assert ping == {
        "specversion": "1.0",
        "id": "ev-1",
        "source": "/oms/notifications",
        "type": PING_EVENT_TYPE,
        "time": "2026-12-05T12:00:00+00:00",
        "datacontenttype": "application/json",
        "data": {"endpoint_id": str(endpoint_id)},
    }
    assert PING_EVENT_TYPE == "oms.webhook.ping"
