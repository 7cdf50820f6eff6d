"""The simulated SMS provider: one JSON line per SMS in a file per day, and its failure modes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from services.notifications.adapters.sms import SimulatedFailure, SimulatedSmsSender
from services.notifications.domain.messages import SendFailed, SmsMessage


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def sms(number: str = "+4915112345678", text: str = "Ihre Bestellung ist unterwegs") -> SmsMessage:
    return SmsMessage(notification_id=UUID(int=1), to_number=number, sender="OMS Shop", text=text)


async def test_each_sms_is_one_json_line_in_the_file_of_its_day(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 3, 5, 23, 59, tzinfo=UTC))
    sender = SimulatedSmsSender(tmp_path / "sms", clock=clock)
    first = await sender.send(sms(text="Zustellung heute 🚚"))
    second = await sender.send(sms(number="+14155550123"))
    clock.current = datetime(2026, 3, 6, 0, 1, tzinfo=UTC)
    await sender.send(sms())

    lines = (tmp_path / "sms" / "2026-03-05.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["provider_reference"] for r in records] == [first, second]
    assert first != second and first.startswith("sim-")
    assert records[0] == {
        "provider_reference": first,
        "notification_id": str(UUID(int=1)),
        "to": "+4915112345678",
        "sender": "OMS Shop",
        "text": "Zustellung heute 🚚",
        "sent_at": "2026-03-05T23:59:00+00:00",
    }
    assert len((tmp_path / "sms" / "2026-03-06.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("failure", "transient"),
    [(SimulatedFailure.TRANSIENT, True), (SimulatedFailure.PERMANENT, False)],
)
async def test_a_failing_provider_sends_nothing(
    tmp_path: Path, failure: SimulatedFailure, transient: bool
) -> None:
    sender = SimulatedSmsSender(tmp_path, failure=failure)
    with pytest.raises(SendFailed) as failed:
        await sender.send(sms())
    assert failed.value.transient is transient
    assert files_in(tmp_path) == []
    sender.failure = SimulatedFailure.NONE  # the outage ends
    await sender.send(sms())
    assert len(files_in(tmp_path)) == 1


@pytest.mark.parametrize("number", ["015112345678", "+0151", "+49 151 12345678", "", "+1234"])
async def test_a_number_that_is_not_e164_fails_for_good(tmp_path: Path, number: str) -> None:
    with pytest.raises(SendFailed) as failed:
        await SimulatedSmsSender(tmp_path).send(sms(number=number))
    assert failed.value.transient is False
