"""What callers ask insights to do (dataclasses): the bus dispatches each to its handler."""

from __future__ import annotations

from dataclasses import dataclass

from services.insights.domain.facts import Fact


@dataclass(frozen=True)
class RecordFacts:
    """A consumed event, as the facts the projection keeps of it (in its inbox transaction)."""

    event_type: str
    facts: tuple[Fact, ...]
