"""The unit of work the handlers take, and the ports of what it holds.

Handlers see only these: the abstract `UnitOfWork` and the repository ports (Protocols). The
SQLAlchemy ones live in adapters/ and are wired in by bootstrap. Nothing here knows of SQL,
HTTP or the wire.
"""

from __future__ import annotations

import abc
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from libs.clock import Clock
from services.insights.domain.dead_letters import DeadLetter
from services.insights.domain.events import InsightsEvent
from services.insights.domain.facts import Fact


class Projection(Protocol):
    """The fact tables: each fact is an upsert under its business key, so a fact repeated
    (the same report under another event id) changes nothing. What is recorded is written
    when the unit of work commits, with the rest of its transaction."""

    async def record(self, fact: Fact) -> None: ...


class DeadLetterRepository(Protocol):
    async def get_for_update(self, dead_letter_id: UUID) -> DeadLetter | None:
        """The dead letter, locked until the transaction ends (two re-drives queue)."""

    async def mark_redriven(self, dead_letter_id: UUID, at: datetime) -> None:
        """Redriven at `at`, one more re-drive counted."""


class StoredOutcome(Protocol):
    @property
    def resource_id(self) -> str | None: ...


class IdempotencyStore(Protocol):
    async def replayed(
        self, *, scope: str, key: str | None, fingerprint: str
    ) -> StoredOutcome | None: ...

    async def complete(self, *, resource_id: str, status: int) -> None: ...


class UnitOfWork(abc.ABC):
    """One transaction over the projection: what a handler writes commits together with the
    inbox row of the event it came from, or not at all."""

    clock: Clock
    projection: Projection
    idempotency: IdempotencyStore
    dead_letters: DeadLetterRepository

    @abc.abstractmethod
    async def __aenter__(self) -> Self: ...

    @abc.abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Ends the transaction; what was not committed is rolled back."""

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None: ...

    def collect_new_events(self) -> list[InsightsEvent]:
        """Insights records no event of its own (domain/events.py)."""
        return []
