"""What callers ask insights to do (dataclasses): the bus dispatches each to its handler."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class RedriveDeadLetter:
    """Put a dead letter back on the topic it came from, as it was."""

    dead_letter_id: UUID
    idempotency_key: str | None = None
