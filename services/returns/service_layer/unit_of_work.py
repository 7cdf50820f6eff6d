"""The unit of work the handlers take, and the ports of what it holds.

Handlers see only these: the abstract `UnitOfWork` and the repository ports (Protocols). The
SQLAlchemy ones live in adapters/ and are wired in by bootstrap; tests hand the handlers
in-memory ones (tests/returns/unit/fakes.py). Nothing here knows of SQL, HTTP or the wire.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

from libs.clock import Clock
from services.returns.domain.commands import ProjectPlacedOrder
from services.returns.domain.events import ReturnEvent
from services.returns.domain.money import OrderCredits
from services.returns.domain.order import KnownOrder
from services.returns.domain.policy import ReturnPolicy
from services.returns.domain.rma import ReturnRequest


class OrderProjection(Protocol):
    """The orders returns knows of, with what their returns were paid back so far (their
    credits). Lock order, everywhere: the order first, then its returns."""

    async def add_if_new(self, order: ProjectPlacedOrder) -> None:
        """Remember a placed order; one known before keeps what it has."""

    async def get_for_update(self, order_id: UUID) -> tuple[KnownOrder, OrderCredits] | None:
        """The order and its credits, locked until the unit of work ends."""

    async def get(self, order_id: UUID) -> KnownOrder | None:
        """The order, unlocked."""

    async def customer_order(self, order_number: str, email: str) -> UUID | None:
        """The order, only when the e-mail proves the customer."""

    async def save_lines(self, order: KnownOrder) -> None: ...

    async def save_credits(self, order_id: UUID, credits: OrderCredits) -> None: ...

    async def first_sighting(
        self, shipment_id: str, kind: str, order_id: UUID, now: datetime
    ) -> bool:
        """True the first time a shipment's shipping (or delivery) is seen."""

    async def update_contact(
        self, order_id: UUID, address: Mapping[str, Any], email: str, name: str
    ) -> None: ...


class ReturnRepository(Protocol):
    seen: list[ReturnRequest]
    """The returns loaded or added in this unit of work: their new events are collected."""

    async def next_rma_number(self) -> str: ...

    async def of_order(self, order_id: UUID) -> list[ReturnRequest]:
        """Every return of an order, locked (call with the order locked first)."""

    async def order_of(self, return_id: UUID) -> UUID | None: ...

    async def of_refund(self, refund_id: str) -> tuple[UUID, UUID] | None:
        """(return id, order id) of a refund this service asked for."""

    async def claim_pending_exchanges(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[UUID]:
        """Up to `limit` pending exchanges no process holds, oldest first, now the caller's
        to place until `now + lease`."""

    async def release_exchange(self, return_id: UUID) -> None:
        """Give up the claim on an exchange that is still pending."""

    async def get(self, return_id: UUID) -> ReturnRequest | None:
        """The return, unlocked and not collected for its events (a read)."""

    async def add(self, r: ReturnRequest) -> None: ...

    async def save(self, r: ReturnRequest) -> None: ...


class PolicyStore(Protocol):
    """The return policy, versioned: every version is kept, each return names its own."""

    async def current(self) -> tuple[ReturnPolicy, datetime | None]: ...

    async def add(self, policy: ReturnPolicy, now: datetime, expected_version: int | None) -> int:
        """The new version's number; a stale `expected_version` is refused."""


class StoredAnswer(Protocol):
    @property
    def resource_id(self) -> str | None: ...


class IdempotencyStore(Protocol):
    """Idempotency-Keys: the key and the outcome commit with the work they name."""

    async def replayed(
        self, *, scope: str, key: str | None, fingerprint: str
    ) -> StoredAnswer | None:
        """The earlier outcome of a request sent again with its key (claiming a new key);
        None when the key is new or the request sent none."""

    async def complete(self, *, resource_id: str, status: int) -> None: ...


@dataclass(frozen=True)
class Placement:
    """order-capture's answer to a replacement order: the order placed, or why not."""

    order_id: UUID | None
    error: str | None = None


class ReplacementOrders(Protocol):
    """Where exchanges place their replacement orders (order-capture's public API)."""

    async def place(
        self, order: Mapping[str, Any], *, idempotency_key: str, return_id: UUID
    ) -> Placement | None:
        """The answer; None when there is none for now (unreachable, or failing): the
        exchange is tried again later."""


class UnitOfWork(abc.ABC):
    """One transaction: the handlers' reads and writes through the ports, and the events of
    the returns it saw, committed together or not at all."""

    orders: OrderProjection
    returns: ReturnRepository
    policies: PolicyStore
    idempotency: IdempotencyStore
    clock: Clock

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

    def collect_new_events(self) -> list[ReturnEvent]:
        """What the returns of this unit of work recorded since the last call, in order; they
        forget it, so each event is collected once."""
        events: list[ReturnEvent] = []
        for r in self.returns.seen:
            events.extend(r.events)
            r.events.clear()
        return events
