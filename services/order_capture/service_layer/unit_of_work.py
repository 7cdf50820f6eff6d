"""The abstract unit of work of order-capture and the ports its handlers use.

Handlers take a `UnitOfWork`: adapters/unit_of_work.py implements it on PostgreSQL (bootstrap
hands that one to the bus), tests/order_capture/unit/fakes.py in memory. Every port is a
Protocol, so an implementation only has to have the methods.

What an order's domain events leave behind, an integration event and a timeline entry each, is
decided in one place, messaging/publications.translate; the composition root hands it to
whatever writes them (the concrete unit of work, the placing hot path) as a `Translate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

from libs.clock import Clock
from libs.contracts.base import IntegrationEvent
from libs.db.idempotency import StoredOutcome
from services.order_capture.domain.events import OrderEvent
from services.order_capture.domain.model import Order


@dataclass(frozen=True)
class TimelineEntry:
    """The line an event adds to its order's timeline (GET /v1/orders/{id}/timeline)."""

    occurred_at: datetime
    source: str
    reason: str
    kind: str
    event_sequence: int | None = None  # the `sequence` of the event published with it, if any
    previous_status: str | None = None
    status: str | None = None
    details: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Publication:
    """What one domain event leaves: its integration event (None when it publishes nothing,
    its source having published the fact already), its timeline entry, and any command sent
    with it to one service alone (the payment token, to orchestration: never on the event)."""

    event: IntegrationEvent | None
    timeline: TimelineEntry
    commands: tuple[IntegrationEvent, ...] = ()

    @property
    def records(self) -> list[IntegrationEvent]:
        """Everything it writes to the outbox, the event first."""
        return [*([self.event] if self.event is not None else []), *self.commands]


Translate = Callable[[Order, OrderEvent], Publication]


class Orders(Protocol):
    """Orders loaded for update are kept for the unit of work (`seen`): a second command of a
    batch about the same order sees what the first changed; what is saved is written at
    commit."""

    @property
    def seen(self) -> Sequence[Order]: ...

    async def next_order_number(self) -> str: ...

    async def find_id_by_channel_ref(
        self, *, channel: str, channel_order_ref: str
    ) -> UUID | None: ...

    async def find_customer_email_by_number(self, order_number: str) -> tuple[UUID, str] | None: ...

    async def add(self, order: Order) -> None: ...

    async def get_for_update(self, order_id: UUID) -> Order | None: ...

    async def save(self, order: Order) -> None: ...


class IdempotencyKeys(Protocol):
    async def replayed(
        self,
        *,
        scope: str,
        key: str | None,
        fingerprint: str,
        expected: StoredOutcome | None = None,
    ) -> StoredOutcome | None: ...

    async def complete(self, *, resource_id: str, status: int) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: the orders it loads and changes, the Idempotency-Keys it claims, and
    the domain events its orders record, which leave with it at commit."""

    @property
    def orders(self) -> Orders: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def clock(self) -> Clock: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def collect_new_events(self) -> Iterator[tuple[Order, OrderEvent]]: ...


@dataclass(frozen=True)
class IdempotencyClaim:
    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class WrittenOrder:
    """The rows as written: the 201 is rendered from them, with no read back."""

    order: dict[str, Any]
    lines: list[dict[str, Any]]


class Placements(Protocol):
    """The placing hot path's writer (handlers/placing.py): a new order and everything it
    adds in one statement, outside any unit of work."""

    async def next_order_number(self) -> str: ...

    async def payment_token_of(self, order_id: UUID, *, channel: str, email: str) -> str | None:
        """The payment token of that order, if it is of this channel and customer e-mail."""
        ...

    async def insert(
        self,
        order: Order,
        publications: Sequence[Publication],
        claim: IdempotencyClaim | None,
    ) -> WrittenOrder | None: ...


def new_events(orders: Sequence[Order]) -> Iterator[tuple[Order, OrderEvent]]:
    """Each event the orders recorded since this was last asked, with its order, in the order
    the orders were seen and the events recorded; each is taken off its order as it is given."""
    for order in orders:
        while order.events:
            yield order, order.events.pop(0)
