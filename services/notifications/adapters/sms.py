"""SMS through a simulated provider: the `SmsSender` port of domain.messages.

A real provider (Twilio, MessageBird, an operator's gateway...) plugs in behind the same
port. The simulated one writes each SMS it accepts as one JSON line to
`<directory>/<UTC date>.jsonl` (`.local/sms/` under `make run`), where a developer or a test
reads it, and can be told to fail, so the retry paths can be tested without a provider.
"""

from __future__ import annotations

import asyncio
import json
import os
from enum import StrEnum
from pathlib import Path

from libs.clock import Clock, SystemClock
from libs.ids import new_id
from services.notifications.domain.messages import SendFailed, SmsMessage, is_e164


class SimulatedFailure(StrEnum):
    NONE = "none"
    # Every SMS refused as a provider outage would be (try again later).
    TRANSIENT = "transient"
    # Every SMS refused as an unknown or blocked number would be (never again).
    PERMANENT = "permanent"


class SimulatedSmsSender:
    """Writes accepted SMS to a JSON-lines file per day; `failure` makes it refuse them."""

    def __init__(
        self,
        directory: Path,
        *,
        failure: SimulatedFailure = SimulatedFailure.NONE,
        clock: Clock | None = None,
    ) -> None:
        self.directory = directory
        # A plain attribute, so a test can switch the provider into and out of an outage.
        self.failure = failure
        self._clock = clock or SystemClock()

    async def send(self, message: SmsMessage) -> str:
        if self.failure is SimulatedFailure.TRANSIENT:
            raise SendFailed("simulated provider outage", transient=True, code=503)
        if self.failure is SimulatedFailure.PERMANENT:
            raise SendFailed("simulated provider refused the number", transient=False, code=400)
        # A provider refuses anything but E.164 for good, so the simulation does too.
        if not is_e164(message.to_number):
            raise SendFailed(
                f"not an E.164 number: {message.to_number!r}", transient=False, code=400
            )
        reference = f"sim-{new_id()}"
        now = self._clock.now()
        record = {
            "provider_reference": reference,
            "notification_id": str(message.notification_id),
            "to": message.to_number,
            "sender": message.sender,
            "text": message.text,
            "sent_at": now.isoformat(),
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        path = self.directory / f"{now.date().isoformat()}.jsonl"
        await asyncio.to_thread(_append_line, path, line.encode())
        return reference


def _append_line(path: Path, data: bytes) -> None:
    """One write with O_APPEND: a service's processes append to the same file, and on a local
    file system each such write lands whole at the end, never inside another's line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
