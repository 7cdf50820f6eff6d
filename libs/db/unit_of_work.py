"""Unit of work: one transaction, the outbox rows of the events it raised, one commit.

The transaction boundary sits at the edge (the message bus), as in eShop's TransactionBehavior:
handlers receive an open unit of work and never commit themselves, so the inbox row of a
consumed event, the handler's effects and the outbox rows of its events commit together.

One unit of work may carry several commands (a consumer's batch of records): after each one
the bus calls `stage()`, which turns what that command raised into outbox rows while its
correlation scope is still open; `commit()` writes every staged row in one statement and
commits once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, NotRequired, Protocol, Self, TypedDict, Unpack

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import Clock
from libs.contracts.base import IntegrationEvent
from libs.db.idempotency import DEFAULT_RETENTION, IdempotencyKeys
from libs.outbox.writer import OutboxWriter


class UnitOfWorkPlumbing(TypedDict):
    """What libs.bootstrap gives every unit of work it makes. A service's unit of work takes
    these through to this class (`**plumbing: Unpack[UnitOfWorkPlumbing]`) beside arguments
    of its own, such as its `translate`."""

    session_factory: async_sessionmaker[AsyncSession]
    outbox: OutboxWriter
    idempotency_table: Table
    clock: Clock
    # How long a used Idempotency-Key is honoured (IDEMPOTENCY_RETENTION_S).
    idempotency_retention: NotRequired[timedelta]


class SqlAlchemyUnitOfWork:
    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: OutboxWriter,
        idempotency_table: Table,
        clock: Clock,
        idempotency_retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self._session_factory = session_factory
        self._outbox = outbox
        self._idempotency_table = idempotency_table
        self._idempotency_retention = idempotency_retention
        self.clock = clock
        self._pending: list[IntegrationEvent] = []

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        await self.session.begin()
        self.idempotency = IdempotencyKeys(
            self.session, self._idempotency_table, self._idempotency_retention
        )
        self._pending = []
        self._staged_outbox: list[dict[str, Any]] = []
        self._staged_audit: list[dict[str, Any]] = []
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            await self.session.close()

    def start(self) -> None:
        """Hook: build repositories on `self.session`."""

    async def prepare(self, keys: Collection[str]) -> None:
        """Hook: a consumer's batch is about these keys (the records' keys, order ids most
        often); a unit of work may load and lock what they name at once, in one order."""

    async def lock_for(self, messages: Sequence[object]) -> None:
        """Hook: a consumer's batch will run these commands in this unit of work; lock what
        they will change beyond their own keys' rows, in the service's one global order,
        before any of them runs (see MessageBus: a batchable command takes no lock itself
        that could close a cycle)."""

    def publish(self, *events: IntegrationEvent) -> None:
        """Queue integration events; they are written to the outbox at commit."""
        self._pending.extend(events)

    def collect_events(self) -> list[IntegrationEvent]:
        """Hook: events raised by aggregates this unit of work has seen, already translated."""
        return []

    async def stage(self) -> None:
        """The end of one command: the events it raised become outbox (and audit) rows, with
        the correlation and actor of that command. A subclass adds the work every command of
        the service ends with (its timeline, its stock announcements) and then calls this."""
        events = [*self.collect_events(), *self._pending]
        self._pending = []
        if events:
            rows, audit_rows = self._outbox.rows(events)
            self._staged_outbox.extend(rows)
            self._staged_audit.extend(audit_rows)

    async def commit(self) -> None:
        await self.stage()
        await self._outbox.insert(self.session, self._staged_outbox, self._staged_audit)
        self._staged_outbox, self._staged_audit = [], []
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


UnitOfWorkFactory = Callable[[], SqlAlchemyUnitOfWork]


class UnitOfWorkClass(Protocol):
    """How a service hands libs.bootstrap its unit of work: the class with the service's own
    arguments bound, `functools.partial(ServiceUnitOfWork, translate=publications.translate)`,
    which the container calls with the plumbing for each unit of work (a class that takes
    only the plumbing fits as it is)."""

    def __call__(self, **plumbing: Unpack[UnitOfWorkPlumbing]) -> SqlAlchemyUnitOfWork: ...
