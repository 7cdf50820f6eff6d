"""The unit of work the handlers are given, and the ports it offers them.

Handlers see only these: the sagas, the view of inventory, the versioned documents (routing
strategy, review rules, carrier rates), the customers' history, the Idempotency-Keys, the
clock and manual review's checks. adapters.unit_of_work implements them on PostgreSQL (the
composition root hands that one to the bus); tests/orchestration/unit/fakes.py in memory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from uuid import UUID

from libs.clock import Clock
from libs.contracts.base import IntegrationEvent
from services.orchestration.domain import commands
from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.payments import PaymentOperation
from services.orchestration.domain.review import (
    AddressCheck,
    FraudCheck,
    ReviewRules,
    customer_key,
)
from services.orchestration.domain.routing.model import Site, Strategy
from services.orchestration.domain.saga import OrderSaga, SagaPolicy

# Channels or locations a caller is narrowed to; None: any (libs.db.narrowing.Codes).
Codes = Set[str] | None


class SagaRepository(Protocol):
    """Order sagas with their fulfilment orders and payment calls. Every change to an order
    goes through its saga, taken first (locked, in PostgreSQL), then its fulfilment orders."""

    policy: SagaPolicy  # given to every saga it loads

    def holds(self, order_id: UUID) -> bool:
        """Whether this unit of work holds the order's saga already (taken, or added)."""
        ...

    def add(self, saga: OrderSaga) -> None:
        """A new saga, written at commit; one whose order has a saga already is dropped."""
        ...

    async def get_for_update(self, order_id: UUID) -> OrderSaga | None: ...

    async def save(self, saga: OrderSaga) -> None: ...

    async def operation_for_update(self, op_id: UUID) -> PaymentOperation | None: ...

    async def save_operation(self, op: PaymentOperation) -> None: ...

    async def next_overdue_for_update(self, now: datetime) -> OrderSaga | None:
        """The saga longest past its deadline that no other unit of work holds, taken."""
        ...

    async def wake_all_waiting(self, now: datetime) -> int:
        """Every order waiting for stock is due now."""
        ...

    async def order_of_fulfillment(
        self, fulfillment_id: UUID, *, channels: Codes, locations: Codes
    ) -> UUID | None:
        """The order of a fulfilment order of these channels at these locations (None: any)."""
        ...

    async def fulfillments_created_since(self, since: dict[str, datetime]) -> dict[str, int]:
        """Fulfilment orders each location was given since its own start of day."""
        ...

    def stage_decision(self, values: dict[str, Any]) -> None:
        """A routing decision to store at commit."""
        ...


class SagaQueues(Protocol):
    """The saga worker's queues: work claimed for a lease, outside any saga's transaction."""

    async def wake_waiting(self, now: datetime) -> int: ...

    async def claim_due_for_routing(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[OrderSaga]: ...

    async def claim_due_operations(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[PaymentOperation]: ...

    async def get_many(self, order_ids: Sequence[UUID]) -> dict[UUID, OrderSaga]: ...

    async def payment_tokens(self, order_ids: Sequence[UUID]) -> dict[UUID, str | None]:
        """The tokens order-capture sent for these orders; an order whose token has not
        arrived yet is left out (None: it came, and the channel gave no token)."""
        ...


# Opens the worker's queues in a transaction of their own, committed on leaving.
QueuesFactory = Callable[[], AbstractAsyncContextManager[SagaQueues]]


@dataclass(frozen=True)
class LocationRow:
    """A location as orchestration's view of inventory keeps it."""

    code: str
    type: str
    active: bool
    capabilities: list[str]
    country: str
    latitude: float | None
    longitude: float | None
    priority: int
    daily_capacity: int | None
    processing_days: int
    cutoff: time | None
    timezone: str
    version: int


@dataclass(frozen=True)
class Candidates:
    """The locations routing considers for some SKUs: those with stock of any of them, or
    expecting some, and the chosen pickup store; and how many others it passed over."""

    sites: list[Site]
    passed_over: int


class RoutingView(Protocol):
    """Orchestration's own view of inventory's locations and stock, projected from
    inventory's events; routing reads it in the saga's own transaction."""

    def location_changed(self, row: LocationRow) -> None: ...

    def stock_changed(self, sku: str, location_code: str, available: int) -> None: ...

    def incoming_changed(self, sku: str, location_code: str, incoming: int) -> None: ...

    async def touch_stock_of(self, code: str) -> None:
        """The location's stock counts as changed now: orders waiting for it look again."""
        ...

    async def candidates(self, skus: Iterable[str], pickup: str | None = None) -> Candidates: ...


_Document = TypeVar("_Document", covariant=True)


class VersionedDocuments(Protocol[_Document]):
    """A document kept in versions (routing strategy, review rules, carrier rates)."""

    async def in_force(self) -> _Document: ...

    async def add(
        self, body: Mapping[str, Any], now: datetime, expected_version: int | None
    ) -> int:
        """Stores `body` as the next version (refused unless `expected_version` is the
        current one, when given); returns its version."""
        ...


@dataclass(frozen=True)
class Placed:
    """An order counted in its customer's history."""

    customer_key: str
    order_id: UUID
    at: datetime


class CustomerHistory(Protocol):
    async def record(self, placed: Sequence[Placed]) -> dict[str, UUID]:
        """Counts these orders (of sagas to be started) in their customers' history, each
        order once; returns each customer's first order id. A customer left out was not
        counted: its order has a saga already."""
        ...


class PaymentTokens(Protocol):
    """Each order's payment token as order-capture sent it (oms.payments.commands), kept
    apart from the saga: it comes on its own topic, before or after the order's saga."""

    async def keep(self, order_id: UUID, token: str | None, at: datetime) -> None:
        """Kept once: the same order's token again changes nothing."""
        ...


class IdempotencyKeys(Protocol):
    async def replayed(self, *, scope: str, key: str | None, fingerprint: str) -> object | None:
        """The earlier outcome of a request sent again with its Idempotency-Key (claiming
        the key when it is new); None when it is new or sent no key."""
        ...


class UnitOfWork(ABC):
    """One transaction: what the handlers of one command (or of a consumer's batch) change
    commits together, with the events the sagas announced, or not at all."""

    sagas: SagaRepository
    routing: RoutingView
    strategies: VersionedDocuments[Strategy]
    review_rule_versions: VersionedDocuments[ReviewRules]
    carrier_rates: VersionedDocuments[RateTable]
    customers: CustomerHistory
    payment_tokens: PaymentTokens
    idempotency: IdempotencyKeys
    clock: Clock
    policy: SagaPolicy = SagaPolicy()  # the service's, set by the composition root
    # How long after its placing an order the view cannot serve is asked about again rather
    # than held (service_layer.handlers.routing): the view may not have what serves it yet.
    routing_grace: timedelta = timedelta(seconds=30)
    # Manual review's fraud-check provider (domain.review.FraudCheck), set by the
    # composition root; asked only when a review rule needs a risk score.
    fraud_check: FraudCheck | None = None
    # Manual review's address check (domain.review.AddressCheck), set by the composition
    # root; asked only when the invalid-address rule is on.
    address_check: AddressCheck | None = None

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    async def rollback(self) -> None: ...

    @abstractmethod
    def collect_events(self) -> list[IntegrationEvent]:
        """What the sagas of this unit of work announced since last asked, in order."""

    def forget_reads(self) -> None:
        """A new unit of work reads the documents in force and counts customers afresh."""
        self._strategy: Strategy | None = None
        self._review_rules: ReviewRules | None = None
        self._rate_table: RateTable | None = None
        # Customer (domain.review.customer_key) -> the first order the OMS saw of them, as
        # counted in this unit of work (None: not counted, the order's saga being there).
        self._first_orders: dict[str, UUID | None] = {}

    async def strategy(self) -> Strategy:
        """The routing strategy in force, read once per unit of work (a consumer's batch
        routes many orders with it)."""
        if self._strategy is None:
            self._strategy = await self.strategies.in_force()
        return self._strategy

    async def review_rules(self) -> ReviewRules:
        """Manual review's rules in force, read once per unit of work."""
        if self._review_rules is None:
            self._review_rules = await self.review_rule_versions.in_force()
        return self._review_rules

    async def rate_table(self) -> RateTable:
        """The carrier rate table in force, read once per unit of work."""
        if self._rate_table is None:
            self._rate_table = await self.carrier_rates.in_force()
        return self._rate_table

    async def first_order(self, cmd: commands.StartSaga) -> bool:
        """Whether the order is the first the OMS has seen from its customer (an order without
        an e-mail address is nobody's first). It counts in the customer's history once: a
        batch's orders all together before its handlers run (count_customers), a lone
        start's here."""
        key = customer_key(cmd.order.customer_email)
        if not key:
            return False
        if key not in self._first_orders:
            await self.count_customers([cmd])
        return self._first_orders.get(key) == cmd.order_id

    async def count_customers(self, placed: Sequence[commands.StartSaga]) -> None:
        orders = [
            Placed(key, m.order_id, m.order.placed_at)
            for m in placed
            if (key := customer_key(m.order.customer_email))
        ]
        if orders:
            # Every customer asked about is answered: None when its order was not counted.
            self._first_orders.update(dict.fromkeys(p.customer_key for p in orders))
            self._first_orders.update(await self.customers.record(orders))
