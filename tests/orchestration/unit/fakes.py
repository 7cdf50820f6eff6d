"""Orchestration's unit of work in memory: the handlers run against these exactly as against
PostgreSQL (adapters.unit_of_work), without a database or a broker.

`FakeStorage` is the database: what committed units of work left. Each `FakeUnitOfWork` works
on copies of what it reads and writes them back only when it commits, so a handler that
raises leaves the storage as it was, as a rolled-back transaction does. `FakeBus` runs a
command's handler in a fresh unit of work and commits it, as libs.bus.MessageBus.handle does.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from uuid import UUID

from libs.bus.message_bus import Delivery
from libs.contracts.base import IntegrationEvent
from libs.errors import IdempotencyKeyReused, PreconditionFailed
from services.orchestration.adapters import review_rules, strategies
from services.orchestration.domain.carriers import DEFAULT_RATE_TABLE, RateTable
from services.orchestration.domain.fulfillment import Fulfillment
from services.orchestration.domain.payments import OpStatus, PaymentOperation
from services.orchestration.domain.review import AddressCheck, FraudCheck
from services.orchestration.domain.routing.model import GeoPoint, Site
from services.orchestration.domain.saga import OrderSaga, SagaPolicy, SagaState
from services.orchestration.domain.saga.state import SagaStep
from services.orchestration.messaging import publications
from services.orchestration.service_layer.handlers import build_handlers
from services.orchestration.service_layer.unit_of_work import (
    Candidates,
    Codes,
    LocationRow,
    Placed,
    UnitOfWork,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


@dataclass
class FakeStorage:
    """What committed units of work left: the tables of orchestration's database."""

    sagas: dict[UUID, OrderSaga] = field(default_factory=dict)
    steps: dict[UUID, list[SagaStep]] = field(default_factory=dict)
    operations: dict[UUID, PaymentOperation] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[IntegrationEvent] = field(default_factory=list)
    locations: dict[str, LocationRow] = field(default_factory=dict)
    available: dict[tuple[str, str], int] = field(default_factory=dict)  # (sku, location)
    incoming: dict[tuple[str, str], int] = field(default_factory=dict)
    touched: list[str] = field(default_factory=list)  # locations whose stock counts as changed
    documents: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)  # by kind
    customers: dict[str, tuple[UUID, int]] = field(default_factory=dict)  # first order, count
    payment_tokens: dict[UUID, str | None] = field(default_factory=dict)  # as order-capture sent
    idempotency: dict[tuple[str, str], str] = field(default_factory=dict)  # -> fingerprint

    def saga(self, order_id: UUID) -> OrderSaga:
        """A copy of the order's committed saga (a test reads; it never writes through it)."""
        return copy.deepcopy(self.sagas[order_id])

    def step_names(self, order_id: UUID) -> list[str]:
        return [step.name for step in self.steps.get(order_id, [])]

    def event_types(self, order_id: UUID | None = None) -> list[str]:
        """The types of the events written to the outbox (about one order), in order."""
        key = None if order_id is None else str(order_id)
        return [e.event_type for e in self.outbox if key is None or _key_of(e) == key]

    def pending_operations(self, order_id: UUID) -> list[PaymentOperation]:
        return sorted(
            (
                op
                for op in self.operations.values()
                if op.order_id == order_id and op.status is OpStatus.PENDING
            ),
            key=lambda op: op.created_at,
        )


def _key_of(event: IntegrationEvent) -> str | None:
    return getattr(event, "order_id", None)


class FakeSagaRepository:
    """service_layer.unit_of_work.SagaRepository over FakeStorage."""

    def __init__(self, storage: FakeStorage, policy: SagaPolicy) -> None:
        self._storage = storage
        self.policy = policy
        self.seen: list[OrderSaga] = []
        self._taken: dict[UUID, OrderSaga | None] = {}
        self._new: dict[UUID, OrderSaga] = {}
        self._saved: dict[UUID, OrderSaga] = {}
        self._operations: dict[UUID, PaymentOperation] = {}
        self._changed_operations: dict[UUID, PaymentOperation] = {}
        self._decisions: list[dict[str, Any]] = []
        self._wake_all_at: datetime | None = None

    def holds(self, order_id: UUID) -> bool:
        return self._taken.get(order_id) is not None

    def add(self, saga: OrderSaga) -> None:
        if self.holds(saga.order_id):
            self._unstage_decisions(saga.order_id)
            return
        self._new[saga.order_id] = saga
        self.seen.append(saga)
        self._taken[saga.order_id] = saga

    async def get_for_update(self, order_id: UUID) -> OrderSaga | None:
        if order_id not in self._taken:
            stored = self._storage.sagas.get(order_id)
            saga = copy.deepcopy(stored) if stored is not None else None
            if saga is not None:
                saga.policy = self.policy
                self.seen.append(saga)
            self._taken[order_id] = saga
        return self._taken[order_id]

    async def save(self, saga: OrderSaga) -> None:
        saga.version += 1
        self._saved[saga.order_id] = saga

    async def operation_for_update(self, op_id: UUID) -> PaymentOperation | None:
        if op_id not in self._operations:
            stored = self._storage.operations.get(op_id)
            if stored is None:
                return None
            self._operations[op_id] = copy.deepcopy(stored)
        return self._operations[op_id]

    async def save_operation(self, op: PaymentOperation) -> None:
        self._operations[op.id] = op
        self._changed_operations[op.id] = op

    async def next_overdue_for_update(self, now: datetime) -> OrderSaga | None:
        def overdue_since(saga: OrderSaga) -> datetime | None:
            times = [t for t in (saga.deadline_at, saga.dispatch_due_at) if t is not None]
            return min(times) if times and min(times) <= now else None

        overdue = [
            (since, order_id)
            for order_id, saga in self._storage.sagas.items()
            if (since := overdue_since(saga)) is not None
        ]
        if not overdue:
            return None
        return await self.get_for_update(min(overdue)[1])

    async def wake_all_waiting(self, now: datetime) -> int:
        self._wake_all_at = now
        return sum(
            1
            for saga in self._storage.sagas.values()
            if saga.state is SagaState.WAITING_FOR_STOCK and saga.due_at and saga.due_at > now
        )

    async def order_of_fulfillment(
        self, fulfillment_id: UUID, *, channels: Codes, locations: Codes
    ) -> UUID | None:
        for saga in self._storage.sagas.values():
            for f in saga.fulfillments:
                if f.id != fulfillment_id:
                    continue
                if channels is not None and saga.order.channel not in channels:
                    return None
                if locations is not None and f.location_code not in locations:
                    return None
                return saga.order_id
        return None

    async def fulfillments_created_since(self, since: dict[str, datetime]) -> dict[str, int]:
        # What this unit of work made counts too (PostgreSQL's is flushed first).
        sagas = {**self._storage.sagas, **{i: s for i, s in self._taken.items() if s}}
        given: list[Fulfillment] = [f for saga in sagas.values() for f in saga.fulfillments]
        return {
            code: sum(1 for f in given if f.location_code == code and f.created_at >= start)
            for code, start in since.items()
        }

    def stage_decision(self, values: dict[str, Any]) -> None:
        self._decisions.append(values)

    def _unstage_decisions(self, order_id: UUID) -> None:
        self._decisions = [d for d in self._decisions if d["order_id"] != order_id]

    def drop_known(self) -> None:
        """A new saga whose order has one already is dropped with all it staged: nothing of
        it is written or announced (PostgreSQL's insert finds the row there)."""
        for order_id, saga in list(self._new.items()):
            if order_id in self._storage.sagas:
                self.seen = [s for s in self.seen if s is not saga]
                self._unstage_decisions(order_id)
                del self._new[order_id]

    def commit(self) -> None:
        """What PostgresUnitOfWork's flush writes: the new sagas and the saved ones, their
        steps and payment calls, the changed payment calls and the routing decisions."""
        storage = self._storage
        for order_id, saga in {**self._new, **self._saved}.items():
            storage.steps.setdefault(order_id, []).extend(saga.new_steps)
            saga.new_steps.clear()
            for op in saga.new_operations:
                storage.operations.setdefault(op.id, copy.deepcopy(op))
            saga.new_operations.clear()
            stored = copy.deepcopy(saga)
            stored.version = max(saga.version, 1)
            storage.sagas[order_id] = stored
        for op_id, op in self._changed_operations.items():
            storage.operations[op_id] = copy.deepcopy(op)
        storage.decisions.extend(self._decisions)
        if self._wake_all_at is not None:
            for saga in storage.sagas.values():
                if saga.state is SagaState.WAITING_FOR_STOCK and saga.due_at:
                    saga.due_at = min(saga.due_at, self._wake_all_at)


class FakeSagaQueues:
    """service_layer.unit_of_work.SagaQueues over FakeStorage: claims move the work a lease
    ahead, as PostgreSQL's do (no other process competes here)."""

    def __init__(self, storage: FakeStorage) -> None:
        self._storage = storage

    async def wake_waiting(self, now: datetime) -> int:
        """Waiting orders with stock of one of their SKUs now are due now. (PostgreSQL also
        asks that the stock changed since the order last looked; the fake keeps no times.)"""
        stocked = {
            sku
            for figures in (self._storage.available, self._storage.incoming)
            for (sku, _), units in figures.items()
            if units > 0
        }
        woken = 0
        for saga in self._storage.sagas.values():
            due, skus = saga.due_at, {ln.sku for ln in saga.order.lines}
            waiting = saga.state is SagaState.WAITING_FOR_STOCK
            if waiting and due is not None and due > now and stocked & skus:
                saga.due_at = now
                woken += 1
        return woken

    async def claim_due_for_routing(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[OrderSaga]:
        due = sorted(
            (saga for saga in self._storage.sagas.values() if _due_for_routing(saga, now)),
            key=lambda saga: saga.due_at or now,
        )[:limit]
        for saga in due:
            saga.due_at = now + lease
        return [_without_fulfillments(saga) for saga in due]

    async def claim_due_operations(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[PaymentOperation]:
        due = sorted(
            (
                op
                for op in self._storage.operations.values()
                if op.status is OpStatus.PENDING and op.next_attempt_at <= now
            ),
            key=lambda op: op.next_attempt_at,
        )[:limit]
        for op in due:
            op.next_attempt_at = now + lease
        return sorted((copy.deepcopy(op) for op in due), key=lambda op: op.created_at)

    async def get_many(self, order_ids: Sequence[UUID]) -> dict[UUID, OrderSaga]:
        return {
            order_id: _without_fulfillments(self._storage.sagas[order_id])
            for order_id in order_ids
            if order_id in self._storage.sagas
        }

    async def payment_tokens(self, order_ids: Sequence[UUID]) -> dict[UUID, str | None]:
        tokens = self._storage.payment_tokens
        return {order_id: tokens[order_id] for order_id in order_ids if order_id in tokens}


def _due_for_routing(saga: OrderSaga, now: datetime) -> bool:
    planned_by_worker = (SagaState.ROUTING, SagaState.WAITING_FOR_STOCK)
    return saga.state in planned_by_worker and saga.due_at is not None and saga.due_at <= now


def _without_fulfillments(saga: OrderSaga) -> OrderSaga:
    """Read as the worker's queries read a saga: its row, without its fulfilment orders."""
    found = copy.deepcopy(saga)
    found.fulfillments = []
    return found


class FakeRoutingView:
    """service_layer.unit_of_work.RoutingView over FakeStorage."""

    def __init__(self, storage: FakeStorage) -> None:
        self._storage = storage
        self._locations: dict[str, LocationRow] = {}
        self._available: dict[tuple[str, str], int] = {}
        self._incoming: dict[tuple[str, str], int] = {}

    def location_changed(self, row: LocationRow) -> None:
        known = self._locations.get(row.code) or self._storage.locations.get(row.code)
        if known is None or known.version <= row.version:
            self._locations[row.code] = row

    def stock_changed(self, sku: str, location_code: str, available: int) -> None:
        self._available[(sku, location_code)] = available

    def incoming_changed(self, sku: str, location_code: str, incoming: int) -> None:
        self._incoming[(sku, location_code)] = incoming

    async def touch_stock_of(self, code: str) -> None:
        self._storage.touched.append(code)

    async def candidates(self, skus: Iterable[str], pickup: str | None = None) -> Candidates:
        locations = {**self._storage.locations, **self._locations}
        available = {**self._storage.available, **self._available}
        incoming = {**self._storage.incoming, **self._incoming}
        wanted = set(skus)
        sites = []
        for code, row in sorted(locations.items()):
            held = {s: n for (s, c), n in available.items() if c == code and s in wanted and n}
            expected = {s: n for (s, c), n in incoming.items() if c == code and s in wanted and n}
            if held or expected or code == pickup:
                sites.append(_site(row).stocked(held, expected))
        return Candidates(sites, len(locations) - len(sites))

    def commit(self) -> None:
        self._storage.locations.update(self._locations)
        self._storage.available.update(self._available)
        self._storage.incoming.update(self._incoming)


def _site(row: LocationRow) -> Site:
    lat, lon = row.latitude, row.longitude
    return Site(
        code=row.code,
        type=row.type,
        active=row.active,
        capabilities=frozenset(row.capabilities),
        country=row.country,
        point=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        priority=row.priority,
        daily_capacity=row.daily_capacity,
        processing_days=row.processing_days,
        cutoff=row.cutoff,
        timezone=row.timezone,
    )


_Document = TypeVar("_Document")


class FakeVersions(Generic[_Document]):
    """service_layer.unit_of_work.VersionedDocuments over FakeStorage: version 1 is the
    default until a body is added; an expected version that is not the latest is 412."""

    def __init__(
        self,
        storage: FakeStorage,
        kind: str,
        default: _Document,
        parse: Callable[[int, Mapping[str, Any]], _Document],
    ) -> None:
        self._bodies = storage.documents.setdefault(kind, [])
        self._kind = kind
        self._default = default
        self._parse = parse
        self._added: list[Mapping[str, Any]] = []

    async def in_force(self) -> _Document:
        bodies = [*self._bodies, *self._added]
        return self._parse(len(bodies) + 1, bodies[-1]) if bodies else self._default

    async def add(
        self, body: Mapping[str, Any], now: datetime, expected_version: int | None
    ) -> int:
        current = len(self._bodies) + len(self._added) + 1
        if expected_version is not None and expected_version != current:
            raise PreconditionFailed(f"the {self._kind} is at version {current}")
        self._added.append(dict(body))
        return current + 1

    def commit(self) -> None:
        self._bodies.extend(self._added)


class FakeCustomerHistory:
    """service_layer.unit_of_work.CustomerHistory over FakeStorage, as
    adapters.customer_history counts: each order once, none whose saga is there."""

    def __init__(self, storage: FakeStorage) -> None:
        self._storage = storage

    async def record(self, placed: Sequence[Placed]) -> dict[str, UUID]:
        orders: dict[UUID, Placed] = {}
        for p in placed:
            orders.setdefault(p.order_id, p)
        first: dict[str, Placed] = {}
        counts: dict[str, int] = {}
        for p in orders.values():
            first.setdefault(p.customer_key, p)
            counts[p.customer_key] = counts.get(p.customer_key, 0) + 1
        answered: dict[str, UUID] = {}
        for key, p in sorted(first.items()):
            if p.order_id in self._storage.sagas:
                continue
            known = self._storage.customers.get(key)
            if known is None:
                self._storage.customers[key] = (p.order_id, counts[key])
            else:
                self._storage.customers[key] = (known[0], known[1] + counts[key])
            answered[key] = self._storage.customers[key][0]
        return answered


class FakePaymentTokens:
    """service_layer.unit_of_work.PaymentTokens over FakeStorage: the first token kept, as
    adapters.payment_tokens keeps it, written at commit."""

    def __init__(self, storage: FakeStorage) -> None:
        self._storage = storage
        self._pending: dict[UUID, str | None] = {}

    async def keep(self, order_id: UUID, token: str | None, at: datetime) -> None:
        self._pending.setdefault(order_id, token)

    def commit(self) -> None:
        for order_id, token in self._pending.items():
            self._storage.payment_tokens.setdefault(order_id, token)


class FakeIdempotencyKeys:
    def __init__(self, storage: FakeStorage) -> None:
        self._storage = storage
        self._claimed: dict[tuple[str, str], str] = {}

    async def replayed(self, *, scope: str, key: str | None, fingerprint: str) -> object | None:
        if not key:
            return None
        known = self._storage.idempotency.get((scope, key)) or self._claimed.get((scope, key))
        if known is None:
            self._claimed[(scope, key)] = fingerprint
            return None
        if known != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used with a different request body"
            )
        return known

    def commit(self) -> None:
        self._storage.idempotency.update(self._claimed)


def _rate_table_from(version: int, body: Mapping[str, Any]) -> RateTable:
    return RateTable.from_dict(body)


class FakeUnitOfWork(UnitOfWork):
    def __init__(
        self,
        storage: FakeStorage,
        clock: FakeClock,
        *,
        policy: SagaPolicy | None = None,
        routing_grace: timedelta | None = None,
        fraud_check: FraudCheck | None = None,
        address_check: AddressCheck | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.policy = policy or SagaPolicy()
        if routing_grace is not None:
            self.routing_grace = routing_grace
        self.fraud_check = fraud_check
        self.address_check = address_check
        self.committed = False

    async def __aenter__(self) -> Self:
        storage = self.storage
        self.sagas = self._sagas = FakeSagaRepository(storage, self.policy)
        self.routing = self._routing = FakeRoutingView(storage)
        # Parsed and defaulted as the PostgreSQL stores do.
        self._strategies = FakeVersions(
            storage, "strategy", strategies.DEFAULT, strategies.from_dict
        )
        self._review_rules_versions = FakeVersions(
            storage, "review rules", review_rules.DEFAULT, review_rules.from_dict
        )
        self._rates = FakeVersions(storage, "carrier rates", DEFAULT_RATE_TABLE, _rate_table_from)
        self.strategies = self._strategies
        self.review_rule_versions = self._review_rules_versions
        self.carrier_rates = self._rates
        self.customers = FakeCustomerHistory(storage)
        self.payment_tokens = self._payment_tokens = FakePaymentTokens(storage)
        self.idempotency = self._idempotency = FakeIdempotencyKeys(storage)
        self.committed = False
        self.forget_reads()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None  # what was not committed is simply dropped

    async def commit(self) -> None:
        self._sagas.drop_known()
        self.storage.outbox.extend(self.collect_events())
        self._routing.commit()
        self._sagas.commit()
        for versions in (self._strategies, self._review_rules_versions, self._rates):
            versions.commit()
        self._idempotency.commit()
        self._payment_tokens.commit()
        self.committed = True

    async def rollback(self) -> None:
        return None

    def collect_events(self) -> list[IntegrationEvent]:
        events: list[IntegrationEvent] = []
        for saga in self._sagas.seen:
            events.extend(map(publications.translate, saga.events))
            saga.events.clear()
        return events


class FakeBus:
    """Runs each command's handler (service_layer.handlers.build_handlers) in a fresh
    FakeUnitOfWork and commits it; a handler that raises commits nothing."""

    def __init__(
        self,
        storage: FakeStorage | None = None,
        clock: FakeClock | None = None,
        **settings: Any,
    ) -> None:
        self.storage = storage or FakeStorage()
        self.clock = clock or FakeClock()
        self._settings = settings
        self._handlers = build_handlers()

    def unit_of_work(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.storage, self.clock, **self._settings)

    async def handle(self, message: object) -> Any:
        async with self.unit_of_work() as uow:
            result = await self._handlers[type(message)](message, uow)
            await uow.commit()
        return result

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Every delivery's handler in one unit of work, committed once (no inbox here)."""
        async with self.unit_of_work() as uow:
            for delivery in deliveries:
                with delivery.scope():
                    await self._handlers[type(delivery.message)](delivery.message, uow)
            await uow.commit()

    @asynccontextmanager
    async def queues(self) -> AsyncIterator[FakeSagaQueues]:
        """The saga worker's queues (service_layer.handlers.worker.SagaWorker's `queues`)."""
        yield FakeSagaQueues(self.storage)
