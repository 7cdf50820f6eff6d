"""In-memory stand-ins for notifications' unit of work and repositories, for handler tests
without a database or a broker.

`FakeDatabase` is what "is stored": a unit of work works on a copy of it taken when it starts
and puts the copy back only on commit, so a handler that raises leaves nothing behind, as a
rolled-back transaction does. The events of the endpoints a unit of work saw land, at commit,
in `FakeDatabase.outbox` (domain events, in order)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Self
from uuid import UUID, uuid4

from libs.clock import Clock
from libs.errors import IdempotencyKeyReused
from services.notifications.domain.delivery import Outcome, Verdict
from services.notifications.domain.endpoints import EndpointStatus, WebhookEndpoint
from services.notifications.domain.events import NotificationEvent
from services.notifications.domain.notices import CustomerOrder
from services.notifications.domain.secrets import format_secret
from services.notifications.service_layer.unit_of_work import (
    LedgerEntry,
    NewDelivery,
    NewNotification,
    ParkedEvent,
    RecordedNotice,
    StoredDelivery,
    UnitOfWork,
)


@dataclass(frozen=True)
class StoredOutcome:
    fingerprint: str
    resource_id: str | None = None
    status: int | None = None


@dataclass
class FakeDatabase:
    endpoints: dict[UUID, WebhookEndpoint] = field(default_factory=dict)
    # (endpoint id, webhook id) -> the delivery: one per endpoint and event, as the table's key.
    deliveries: dict[tuple[UUID, str], NewDelivery] = field(default_factory=dict)
    # Each delivery's id and when it was made, by the same key.
    delivery_ids: dict[tuple[UUID, str], UUID] = field(default_factory=dict)
    made_at: dict[UUID, datetime] = field(default_factory=dict)
    # The deliveries the ledger's actions made due again, and when.
    requeued: dict[UUID, datetime] = field(default_factory=dict)
    channels: dict[UUID, str] = field(default_factory=dict)
    parked: dict[str, ParkedEvent] = field(default_factory=dict)
    keys: dict[tuple[str, str], StoredOutcome] = field(default_factory=dict)
    outbox: list[NotificationEvent] = field(default_factory=list)
    customer_orders: dict[UUID, CustomerOrder] = field(default_factory=dict)
    # (order id, kind, business key, medium) -> the notification: one each, as the table's key.
    notifications: dict[tuple[UUID, str, str, str], NewNotification] = field(default_factory=dict)
    pending_again: list[UUID] = field(default_factory=list)
    opt_outs: set[str] = field(default_factory=set)
    # (delivery id, attempt number, outcome, verdict), as recorded.
    attempts: list[tuple[UUID, int, Outcome, Verdict]] = field(default_factory=list)
    commits: int = 0
    secrets_made: int = 0


class FakeEndpoints:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self.seen: list[WebhookEndpoint] = []

    async def add(self, endpoint: WebhookEndpoint) -> None:
        self._db.endpoints[endpoint.id] = copy.deepcopy(endpoint)
        self.seen.append(endpoint)

    async def get_for_update(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        found = self._db.endpoints.get(endpoint_id)
        if found is None:
            return None
        endpoint = copy.deepcopy(found)
        self.seen.append(endpoint)
        return endpoint

    async def get(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        found = self._db.endpoints.get(endpoint_id)
        return copy.deepcopy(found) if found is not None else None

    async def save(self, endpoint: WebhookEndpoint) -> None:
        self._db.endpoints[endpoint.id] = copy.deepcopy(endpoint)

    async def delete(self, endpoint_id: UUID) -> None:
        self._db.endpoints.pop(endpoint_id, None)
        for key in [k for k in self._db.deliveries if k[0] == endpoint_id]:
            del self._db.deliveries[key]

    async def receiving(self) -> list[WebhookEndpoint]:
        return [
            copy.deepcopy(e)
            for e in self._db.endpoints.values()
            if e.enabled and e.status is not EndpointStatus.DISABLED
        ]


class FakeDeliveries:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def add(self, deliveries: Sequence[NewDelivery], now: datetime) -> None:
        for d in deliveries:
            self._add(d, now)

    async def add_one(self, delivery: NewDelivery, now: datetime) -> UUID:
        return self._add(delivery, now)

    def _add(self, d: NewDelivery, now: datetime) -> UUID:
        key = (d.endpoint_id, d.webhook_id)
        self._db.deliveries.setdefault(key, d)
        if key not in self._db.delivery_ids:
            self._db.delivery_ids[key] = uuid4()
            self._db.made_at[self._db.delivery_ids[key]] = now
        return self._db.delivery_ids[key]

    async def get_for_update(self, delivery_id: UUID) -> StoredDelivery | None:
        for (endpoint_id, _), found in self._db.delivery_ids.items():
            if found == delivery_id:
                return StoredDelivery(delivery_id, endpoint_id)
        return None

    async def requeue(self, delivery_id: UUID, now: datetime) -> None:
        self._db.requeued[delivery_id] = now

    async def requeue_since(self, endpoint_id: UUID, since: datetime, now: datetime) -> int:
        chosen = [
            delivery_id
            for (endpoint, _), delivery_id in self._db.delivery_ids.items()
            if endpoint == endpoint_id and self._db.made_at[delivery_id] >= since
        ]
        for delivery_id in chosen:
            self._db.requeued[delivery_id] = now
        return len(chosen)

    async def record_attempt(
        self,
        delivery_id: UUID,
        number: int,
        started_at: datetime,
        outcome: Outcome,
        verdict: Verdict,
    ) -> None:
        self._db.attempts.append((delivery_id, number, outcome, verdict))


class FakeOrderChannels:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self.locked: list[UUID] = []

    async def lock(self, order_id: UUID) -> None:
        self.locked.append(order_id)

    async def remember(self, order_id: UUID, channel: str) -> None:
        self._db.channels.setdefault(order_id, channel)

    async def channel_of(self, order_id: UUID) -> str | None:
        return self._db.channels.get(order_id)

    async def park(self, event: ParkedEvent) -> None:
        self._db.parked.setdefault(event.event_id, event)

    async def take_parked(self, order_id: UUID) -> list[ParkedEvent]:
        taken = [p for p in self._db.parked.values() if p.order_id == order_id]
        for p in taken:
            del self._db.parked[p.event_id]
        return sorted(taken, key=lambda p: p.occurred_at)


class CountingSecrets:
    """Secrets that differ and are in the format: 24 bytes of a counter."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def new_secret(self) -> str:
        self._db.secrets_made += 1
        return format_secret(self._db.secrets_made.to_bytes(24, "big"))


class FakeIdempotencyKeys:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self._claimed: tuple[str, str] | None = None

    async def replayed(
        self, *, scope: str, key: str | None, fingerprint: str
    ) -> StoredOutcome | None:
        if not key:
            return None
        found = self._db.keys.get((scope, key))
        if found is None:
            self._db.keys[(scope, key)] = StoredOutcome(fingerprint)
            self._claimed = (scope, key)
            return None
        if found.fingerprint != fingerprint:
            raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was used with another body")
        return found

    async def complete(self, *, resource_id: str, status: int) -> None:
        if self._claimed is not None:
            fingerprint = self._db.keys[self._claimed].fingerprint
            self._db.keys[self._claimed] = StoredOutcome(fingerprint, resource_id, status)


class FakeCustomerOrders:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def add(self, order: CustomerOrder, placed_at: datetime) -> None:
        self._db.customer_orders.setdefault(order.order_id, order)

    async def get(self, order_id: UUID) -> CustomerOrder | None:
        return self._db.customer_orders.get(order_id)

    async def change_customer(
        self,
        order_id: UUID,
        *,
        email: str,
        name: str,
        phone: str | None,
        shipping_address: tuple[str, ...] | None,
    ) -> None:
        found = self._db.customer_orders.get(order_id)
        if found is not None:
            self._db.customer_orders[order_id] = replace(
                found, email=email, name=name, phone=phone, shipping_address=shipping_address
            )

    async def add_part(self, order_id: UUID, key: str, quantities: Mapping[str, int]) -> None:
        found = self._db.customer_orders.get(order_id)
        if found is not None:
            parts = {**found.parts, key: dict(quantities)}
            self._db.customer_orders[order_id] = replace(found, parts=parts)


class FakeNotifications:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def add(self, notification: NewNotification, now: datetime) -> bool:
        key = (
            notification.order_id,
            notification.kind,
            notification.business_key,
            notification.medium,
        )
        if key in self._db.notifications:
            return False
        self._db.notifications[key] = notification
        return True

    async def get_for_update(self, notification_id: UUID) -> LedgerEntry | None:
        for n in self._db.notifications.values():
            if n.id == notification_id:
                return LedgerEntry(n.id, n.order_id, n.channel, n.status, n.recipient, n.medium)
        return None

    async def recorded(self, order_id: UUID, medium: str) -> list[RecordedNotice]:
        # Insertion order is the order they were added in, as created_at orders the table's.
        return [
            RecordedNotice(n.kind, n.business_key, n.event_id, n.event_type, n.event_data)
            for n in self._db.notifications.values()
            if n.order_id == order_id and n.medium == medium
        ]

    async def make_pending(self, notification_id: UUID, now: datetime) -> None:
        self._db.pending_again.append(notification_id)

    async def opted_out(self, order_id: UUID, email: str | None) -> bool:
        return any(await self.opt_outs(order_id, email))

    async def opt_outs(self, order_id: UUID, email: str | None) -> tuple[bool, bool]:
        by_email = email is not None and f"email:{email.strip().lower()}" in self._db.opt_outs
        return f"order:{order_id}" in self._db.opt_outs, by_email

    async def set_opt_out(self, subject: str, opted_out: bool, now: datetime) -> None:
        if opted_out:
            self._db.opt_outs.add(subject)
        else:
            self._db.opt_outs.discard(subject)


class FakeUnitOfWork(UnitOfWork):
    endpoints: FakeEndpoints
    deliveries: FakeDeliveries
    orders: FakeOrderChannels
    secrets: CountingSecrets
    idempotency: FakeIdempotencyKeys
    customer_orders: FakeCustomerOrders
    notifications: FakeNotifications

    def __init__(self, db: FakeDatabase, clock: Clock) -> None:
        self._db = db
        self.clock = clock

    async def __aenter__(self) -> Self:
        self._work = copy.deepcopy(self._db)
        self.endpoints = FakeEndpoints(self._work)
        self.deliveries = FakeDeliveries(self._work)
        self.orders = FakeOrderChannels(self._work)
        self.secrets = CountingSecrets(self._work)
        self.idempotency = FakeIdempotencyKeys(self._work)
        self.customer_orders = FakeCustomerOrders(self._work)
        self.notifications = FakeNotifications(self._work)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        self._work.outbox.extend(self.collect_new_events())
        self._work.commits += 1
        _copy_into(self._db, self._work)

    async def rollback(self) -> None:
        """Forget what was not committed."""
        _copy_into(self._work, self._db)


def _copy_into(target: FakeDatabase, source: FakeDatabase) -> None:
    for name, value in vars(source).items():
        setattr(target, name, copy.deepcopy(value))
