"""order-capture's unit of work in memory, for handler tests without a database or a broker.

`FakeStore` is the committed state (orders, Idempotency-Keys, the published events and the
timeline); a `FakeUnitOfWork` works on copies of what it loads and writes them back only at
commit, so a handler that raises leaves the store as it was, as a rolled-back transaction
leaves PostgreSQL. What the orders recorded leaves through the one event path of the service
(messaging.publications.translate), as it does through the PostgreSQL unit of work.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from libs.contracts.base import IntegrationEvent
from libs.db.idempotency import StoredOutcome
from libs.errors import IdempotencyKeyReused
from services.order_capture.domain.errors import DuplicateChannelOrder
from services.order_capture.domain.events import OrderEvent
from services.order_capture.domain.model import Order
from services.order_capture.messaging.publications import translate
from services.order_capture.service_layer.handlers import HANDLERS
from services.order_capture.service_layer.unit_of_work import (
    TimelineEntry,
    UnitOfWork,
    new_events,
)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class StoredKey:
    fingerprint: str
    outcome: StoredOutcome


@dataclass
class FakeStore:
    """What has been committed."""

    orders: dict[UUID, Order] = field(default_factory=dict)
    keys: dict[tuple[str, str], StoredKey] = field(default_factory=dict)
    published: list[IntegrationEvent] = field(default_factory=list)
    timeline: dict[UUID, list[TimelineEntry]] = field(default_factory=dict)
    last_order_number: int = 0

    def published_types(self) -> list[str]:
        return [event.event_type for event in self.published]


class FakeOrders:
    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.seen: list[Order] = []
        self._loaded: dict[UUID, Order | None] = {}
        self.added: list[Order] = []
        self.saved: dict[UUID, Order] = {}

    async def next_order_number(self) -> str:
        # A sequence: a number taken is gone even if the transaction rolls back.
        self._store.last_order_number += 1
        return f"OMS-{self._store.last_order_number:08d}"

    async def find_id_by_channel_ref(self, *, channel: str, channel_order_ref: str) -> UUID | None:
        for order in self._store.orders.values():
            if order.channel.value == channel and order.channel_order_ref == channel_order_ref:
                return order.id
        return None

    async def find_customer_email_by_number(self, order_number: str) -> tuple[UUID, str] | None:
        for order in self._store.orders.values():
            if order.order_number == order_number:
                return order.id, order.customer.email
        return None

    async def add(self, order: Order) -> None:
        # What the unique constraint on (channel, channel_order_ref) does in PostgreSQL.
        existing = await self.find_id_by_channel_ref(
            channel=order.channel.value, channel_order_ref=order.channel_order_ref
        )
        if existing is not None:
            raise DuplicateChannelOrder(
                f"channel {order.channel.value!r} already placed order {order.channel_order_ref!r}",
                existing_order_id=str(existing),
            )
        self.added.append(order)
        self.seen.append(order)

    async def get_for_update(self, order_id: UUID) -> Order | None:
        if order_id not in self._loaded:
            stored = self._store.orders.get(order_id)
            order = None if stored is None else copy.deepcopy(stored)
            self._loaded[order_id] = order
            if order is not None:
                self.seen.append(order)
        return self._loaded[order_id]

    async def save(self, order: Order) -> None:
        self.saved[order.id] = order


class FakeIdempotencyKeys:
    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.claimed: dict[tuple[str, str], StoredKey] = {}
        self._current: tuple[str, str] | None = None

    async def replayed(
        self,
        *,
        scope: str,
        key: str | None,
        fingerprint: str,
        expected: StoredOutcome | None = None,
    ) -> StoredOutcome | None:
        if not key:
            return None
        stored = self._store.keys.get((scope, key))
        if stored is None:
            self._current = (scope, key)
            self.claimed[scope, key] = StoredKey(
                fingerprint, expected or StoredOutcome(resource_id=None, status=None)
            )
            return None
        if stored.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used with a different request body"
            )
        return stored.outcome

    async def complete(self, *, resource_id: str, status: int) -> None:
        if self._current is not None:
            self.claimed[self._current].outcome = StoredOutcome(resource_id, status)


class FakeUnitOfWork:
    def __init__(self, store: FakeStore, clock: FixedClock) -> None:
        self._store = store
        self.clock = clock
        self.committed = False

    async def __aenter__(self) -> Self:
        self.orders = FakeOrders(self._store)
        self.idempotency = FakeIdempotencyKeys(self._store)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Whatever was not committed is dropped, as a rolled-back transaction."""

    def collect_new_events(self) -> Iterator[tuple[Order, OrderEvent]]:
        return new_events(self.orders.seen)

    async def commit(self) -> None:
        for order, event in self.collect_new_events():
            publication = translate(order, event)
            self._store.timeline.setdefault(order.id, []).append(publication.timeline)
            if publication.event is not None:
                self._store.published.append(publication.event)
        for order in [*self.orders.added, *self.orders.saved.values()]:
            self._store.orders[order.id] = copy.deepcopy(order)
        self._store.keys.update(self.idempotency.claimed)
        self.committed = True

    async def rollback(self) -> None:
        self.orders.saved.clear()
        self.orders.added.clear()
        self.idempotency.claimed.clear()


async def handle(store: FakeStore, clock: FixedClock, command: object) -> Any:
    """What the message bus does for a request: a fresh unit of work, the command's handler,
    one commit (none when the handler raises)."""
    async with FakeUnitOfWork(store, clock) as uow:
        result = await HANDLERS[type(command)](command, uow)
        await uow.commit()
    return result


def _fits(uow: FakeUnitOfWork) -> UnitOfWork:
    """Never called: mypy checks here that the fake fits the abstract unit of work."""
    return uow
