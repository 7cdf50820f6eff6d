"""The shared field types hold the contract's word, not pydantic's lax reading of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from libs.http.fields import Day, LocalTime, Timestamp, Trimmed

TIMESTAMP = TypeAdapter(Timestamp)
DAY = TypeAdapter(Day)
LOCAL_TIME = TypeAdapter(LocalTime)


def test_a_timestamp_is_rfc_3339_text() -> None:
    assert TIMESTAMP.validate_python("2026-11-24T10:15:00Z") == datetime(
        2026, 11, 24, 10, 15, tzinfo=UTC
    )
    assert DAY.validate_python("2026-11-24") == date(2026, 11, 24)


@pytest.mark.parametrize("number", [0.5, 1732406400, "0.5", "1732406400", " 17e3 "])
def test_a_number_is_not_read_as_unix_seconds(number: object) -> None:
    with pytest.raises(ValidationError, match="not a number"):
        TIMESTAMP.validate_python(number)
    with pytest.raises(ValidationError, match="not a number"):
        DAY.validate_python(number)


def test_a_local_time_has_no_offset() -> None:
    assert LOCAL_TIME.validate_python("15:00") == time(15, 0)
    assert LOCAL_TIME.validate_python("15:00:30.25") == time(15, 0, 30, 250000)
    for wrong in ("15:00Z", "15:00:00+01:00", "25:00", "3pm"):
        with pytest.raises(ValidationError):
            LOCAL_TIME.validate_python(wrong)


def test_a_local_time_is_described_as_what_it_accepts() -> None:
    schema = LOCAL_TIME.json_schema()
    assert schema["type"] == "string" and "format" not in schema
    assert schema["pattern"].startswith("^")


def test_trimmed_text_keeps_its_limits_on_what_the_client_sent() -> None:
    text = TypeAdapter(Annotated[str, StringConstraints(min_length=1, max_length=5), Trimmed])
    assert text.validate_python("  ab ") == "ab"
    with pytest.raises(ValidationError):
        text.validate_python(" abcde")  # six characters sent: over the schema's maxLength
    with pytest.raises(ValidationError, match="blank"):
        text.validate_python("   ")
