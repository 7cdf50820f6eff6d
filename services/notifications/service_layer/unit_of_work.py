"""The unit of work the handlers take, and the ports of what it holds.

Handlers see only these: the abstract `UnitOfWork` and the repository ports (Protocols). The
SQLAlchemy ones live in adapters/ and are wired in by bootstrap; tests hand the handlers
in-memory ones (tests/notifications/unit/fakes.py). Nothing here knows of SQL, HTTP or the
wire.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

from libs.clock import Clock
from services.notifications.domain.delivery import DueDelivery, Outcome, Verdict
from services.notifications.domain.endpoints import WebhookEndpoint
from services.notifications.domain.events import NotificationEvent
from services.notifications.domain.notices import CustomerOrder


class EndpointRepository(Protocol):
    seen: list[WebhookEndpoint]
    """The endpoints loaded or added in this unit of work: their new events are collected."""

    async def add(self, endpoint: WebhookEndpoint) -> None: ...

    async def get_for_update(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        """The endpoint, locked until the unit of work ends."""

    async def get(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        """The endpoint, not locked: for a handler that only reads it while it writes its
        deliveries (the worker locks a delivery, then its endpoint; taking them the other way
        round could deadlock with it)."""

    async def save(self, endpoint: WebhookEndpoint) -> None: ...

    async def delete(self, endpoint_id: UUID) -> None:
        """The endpoint and its deliveries."""

    async def receiving(self) -> list[WebhookEndpoint]:
        """Every endpoint that receives events now (enabled, not disabled)."""


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to make: one event for one endpoint, to be sent by the delivery worker."""

    endpoint_id: UUID
    webhook_id: str  # the CloudEvent id: the same for every endpoint and every attempt
    event_type: str
    key: str
    order_id: UUID | None
    occurred_at: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class StoredDelivery:
    """What the ledger's actions read of a delivery before changing it."""

    id: UUID
    endpoint_id: UUID


class DeliveryRepository(Protocol):
    async def add(self, deliveries: Sequence[NewDelivery], now: datetime) -> None:
        """Pending deliveries; one an endpoint already has for that event is left as it is."""

    async def add_one(self, delivery: NewDelivery, now: datetime) -> UUID:
        """A pending delivery of an event of its own (a ping: its id is new), and its id."""

    async def get_for_update(self, delivery_id: UUID) -> StoredDelivery | None:
        """The delivery, locked until the unit of work ends."""

    async def requeue(self, delivery_id: UUID, now: datetime) -> None:
        """The delivery due now and pending again, retried for a new retry window from now;
        its attempts stay, and the next is numbered after them."""

    async def requeue_since(self, endpoint_id: UUID, since: datetime, now: datetime) -> int:
        """Every delivery of the endpoint made at or after `since` requeued as `requeue`
        does; how many."""

    async def record_attempt(
        self,
        delivery_id: UUID,
        number: int,
        started_at: datetime,
        outcome: Outcome,
        verdict: Verdict,
    ) -> None:
        """The attempt in the ledger, and the delivery's new state (its lease released)."""


class DeliveryQueue(Protocol):
    """The delivery worker's queue: deliveries claimed for a lease, in a transaction of their
    own that commits before any request is made."""

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        *,
        lease: timedelta,
        per_endpoint: int,
        in_flight: Mapping[UUID, int] | None = None,
    ) -> list[DueDelivery]:
        """Pending deliveries due now, not leased, of endpoints that receive, each the
        earliest pending one of its endpoint and order (a later event of an order waits for
        the earlier one); of one endpoint at most `per_endpoint` less what the caller has
        `in_flight` to it already, first attempts before retries; leased until now + lease."""

    async def purge(self, before: datetime, limit: int) -> int:
        """Delivered and failed deliveries made before then, with their attempts: at most
        `limit`, none another process is purging."""


QueueFactory = Callable[[], AbstractAsyncContextManager[DeliveryQueue]]


@dataclass(frozen=True)
class ParkedEvent:
    """An event of an order whose channel was not known when it came: channel-filtered
    endpoints get it once the order's placement tells the channel."""

    event_id: str
    event_type: str
    key: str
    order_id: UUID
    occurred_at: datetime
    payload: Mapping[str, Any]


class OrderChannels(Protocol):
    """The channel of each order notifications has seen placed, and the events waiting for
    one."""

    async def lock(self, order_id: UUID) -> None:
        """Until the unit of work ends: two events of one order handled at once (a placement
        and an event that came before it, on two topics) never both miss each other."""

    async def remember(self, order_id: UUID, channel: str) -> None:
        """The order's channel; an order's channel never changes, so a second is ignored."""

    async def channel_of(self, order_id: UUID) -> str | None: ...

    async def park(self, event: ParkedEvent) -> None: ...

    async def take_parked(self, order_id: UUID) -> list[ParkedEvent]:
        """The order's parked events, in the order they happened, removed."""


class CustomerOrders(Protocol):
    """The orders as their customer messages need them (domain.notices.CustomerOrder)."""

    async def add(self, order: CustomerOrder, placed_at: datetime) -> None:
        """The order as placed; an order already there is left as it is."""

    async def get(self, order_id: UUID) -> CustomerOrder | None: ...

    async def change_customer(
        self,
        order_id: UUID,
        *,
        email: str,
        name: str,
        phone: str | None,
        shipping_address: tuple[str, ...] | None,
    ) -> None:
        """The customer's edit of the order (oms.order.updated); nothing if it is not known."""

    async def add_part(self, order_id: UUID, key: str, quantities: Mapping[str, int]) -> None:
        """The units of a fulfilment order or a return (domain.notices.part_of)."""


@dataclass(frozen=True)
class NewNotification:
    id: UUID
    order_id: UUID
    kind: str
    business_key: str
    medium: str
    recipient: str | None
    language: str | None
    channel: str | None
    status: str
    event_id: str
    event_type: str
    event_data: Mapping[str, Any]


@dataclass(frozen=True)
class LedgerEntry:
    """What a handler reads of a notification."""

    id: UUID
    order_id: UUID
    channel: str | None
    status: str
    recipient: str | None
    medium: str


@dataclass(frozen=True)
class RecordedNotice:
    """A notification already in the ledger, as a later one of the same fact needs it."""

    kind: str
    business_key: str
    event_id: str
    event_type: str
    event_data: Mapping[str, Any]


class NotificationLedger(Protocol):
    async def add(self, notification: NewNotification, now: datetime) -> bool:
        """The notification, unless the order has one of that kind, business key and medium
        already (then False, and the one there is left as it is)."""

    async def get_for_update(self, notification_id: UUID) -> LedgerEntry | None: ...

    async def recorded(self, order_id: UUID, medium: str) -> list[RecordedNotice]:
        """The order's notifications by that medium, oldest first."""

    async def make_pending(self, notification_id: UUID, now: datetime) -> None:
        """Due now, its attempts counted from zero again, its last error forgotten."""

    async def opted_out(self, order_id: UUID, email: str | None) -> bool:
        """Whether the order, or the customer with that e-mail address, asked for no messages."""

    async def opt_outs(self, order_id: UUID, email: str | None) -> tuple[bool, bool]:
        """(the order opted out, the customer's address opted out)."""

    async def set_opt_out(self, subject: str, opted_out: bool, now: datetime) -> None:
        """`order:<id>` or `email:<address>` opted out (or in again)."""


class SecretSource(Protocol):
    def new_secret(self) -> str:
        """A new signing secret (whsec_...)."""


class IdempotencyStore(Protocol):
    async def replayed(
        self, *, scope: str, key: str | None, fingerprint: str
    ) -> StoredOutcome | None: ...

    async def complete(self, *, resource_id: str, status: int) -> None: ...


class StoredOutcome(Protocol):
    @property
    def resource_id(self) -> str | None: ...


class UnitOfWork(abc.ABC):
    """One transaction: the handlers' reads and writes through the ports, and the events of
    the endpoints it saw, committed together or not at all."""

    endpoints: EndpointRepository
    deliveries: DeliveryRepository
    orders: OrderChannels
    secrets: SecretSource
    idempotency: IdempotencyStore
    clock: Clock
    customer_orders: CustomerOrders
    notifications: NotificationLedger

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

    def collect_new_events(self) -> list[NotificationEvent]:
        """What the endpoints of this unit of work recorded since the last call, in order;
        they forget it, so each event is collected once."""
        events: list[NotificationEvent] = []
        for endpoint in self.endpoints.seen:
            events.extend(endpoint.events)
            endpoint.events.clear()
        return events
