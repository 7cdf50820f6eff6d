"""What callers ask insights to do (dataclasses): the bus dispatches each to its handler."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.insights.domain.facts import Fact


@dataclass(frozen=True)
class RecordFacts:
    """A consumed event, as the facts the projection keeps of it (in its inbox transaction)."""

    event_type: str
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class RedriveDeadLetter:
    """Put a dead letter back on the topic it came from, as it was."""

    dead_letter_id: UUID
    idempotency_key: str | None = None
