"""In-memory stand-ins for returns' unit of work and repositories, for handler tests without a
database or a broker.

`FakeDatabase` is what "is stored": a unit of work works on a copy of it taken when it starts
and puts the copy back only on commit, so a handler that raises leaves nothing behind, as a
rolled-back transaction does. Reads hand out copies and writes store copies, as rows do: a
change a handler makes to a return or an order is kept only if it saves it. The events of the
returns a unit of work saw land, at commit, in `FakeDatabase.outbox` (domain events, in
order)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from libs.clock import Clock
from libs.errors import IdempotencyKeyReused, PreconditionFailed
from libs.self_service import email_proves_order
from services.returns.domain.commands import ProjectPlacedOrder
from services.returns.domain.events import ReturnEvent
from services.returns.domain.money import OrderCredits
from services.returns.domain.order import KnownOrder, OrderLine
from services.returns.domain.policy import ReturnPolicy
from services.returns.domain.rma import ReturnRequest
from services.returns.service_layer.unit_of_work import UnitOfWork

DEFAULT_POLICY = ReturnPolicy(version=1)  # in force before the first PUT, as in the database


@dataclass(frozen=True)
class StoredOutcome:
    fingerprint: str
    resource_id: str | None = None
    status: int | None = None


@dataclass
class FakeDatabase:
    orders: dict[UUID, KnownOrder] = field(default_factory=dict)
    credits: dict[UUID, OrderCredits] = field(default_factory=dict)
    shipments_seen: set[tuple[str, str]] = field(default_factory=set)
    returns: dict[UUID, ReturnRequest] = field(default_factory=dict)
    exchange_claims: dict[UUID, datetime] = field(default_factory=dict)
    rma_numbers: int = 0
    policies: list[tuple[ReturnPolicy, datetime]] = field(default_factory=list)
    idempotency_keys: dict[tuple[str, str], StoredOutcome] = field(default_factory=dict)
    outbox: list[ReturnEvent] = field(default_factory=list)
    commits: int = 0


class FakeOrderProjection:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def add_if_new(self, order: ProjectPlacedOrder) -> None:
        if order.order_id in self._db.orders:
            return
        self._db.orders[order.order_id] = KnownOrder(
            order_id=order.order_id,
            order_number=order.order_number,
            channel=order.channel,
            customer_email=order.customer_email,
            customer_name=order.customer_name,
            currency=order.currency,
            placed_at=order.placed_at,
            shipping_amount=order.shipping_amount,
            grand_total=order.grand_total,
            lines=[
                OrderLine(
                    line_id=ln.line_id,
                    sku=ln.sku,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    discount_amount=ln.discount_amount,
                    tax_amount=ln.tax_amount,
                    name=ln.name,
                )
                for ln in sorted(order.lines, key=lambda ln: ln.line_id)
            ],
            tags=order.tags,
            shipping_address=dict(order.shipping_address),
        )
        self._db.credits[order.order_id] = OrderCredits()

    async def get_for_update(self, order_id: UUID) -> tuple[KnownOrder, OrderCredits] | None:
        if order_id not in self._db.orders:
            return None
        return copy.deepcopy(self._db.orders[order_id]), copy.deepcopy(self._db.credits[order_id])

    async def get(self, order_id: UUID) -> KnownOrder | None:
        return copy.deepcopy(self._db.orders.get(order_id))

    async def customer_order(self, order_number: str, email: str) -> UUID | None:
        order = next((o for o in self._db.orders.values() if o.order_number == order_number), None)
        on_order = None if order is None else order.customer_email
        return order.order_id if order is not None and email_proves_order(on_order, email) else None

    async def save_lines(self, order: KnownOrder) -> None:
        self._db.orders[order.order_id] = copy.deepcopy(order)

    async def save_credits(self, order_id: UUID, credits: OrderCredits) -> None:
        self._db.credits[order_id] = copy.deepcopy(credits)

    async def first_sighting(
        self, shipment_id: str, kind: str, order_id: UUID, now: datetime
    ) -> bool:
        if (shipment_id, kind) in self._db.shipments_seen:
            return False
        self._db.shipments_seen.add((shipment_id, kind))
        return True

    async def update_contact(
        self, order_id: UUID, address: Mapping[str, Any], email: str, name: str
    ) -> None:
        order = self._db.orders.get(order_id)
        if order is not None:
            order.shipping_address, order.customer_email = dict(address), email
            order.customer_name = name


class FakeReturnRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self.seen: list[ReturnRequest] = []

    async def next_rma_number(self) -> str:
        self._db.rma_numbers += 1
        return f"RMA-{self._db.rma_numbers:08d}"

    async def of_order(self, order_id: UUID) -> list[ReturnRequest]:
        found = sorted(
            (self._load(r) for r in self._db.returns.values() if r.order_id == order_id),
            key=lambda r: r.created_at,
        )
        self.seen.extend(found)
        return found

    async def order_of(self, return_id: UUID) -> UUID | None:
        r = self._db.returns.get(return_id)
        return r.order_id if r is not None else None

    async def of_refund(self, refund_id: str) -> tuple[UUID, UUID] | None:
        for r in self._db.returns.values():
            if any(f.id == refund_id for f in r.refunds):
                return r.id, r.order_id
        return None

    async def claim_pending_exchanges(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[UUID]:
        claims = self._db.exchange_claims
        pending = sorted(
            (
                r
                for r in self._db.returns.values()
                if r.exchange is not None
                and r.exchange.status == "pending"
                and (r.id not in claims or claims[r.id] <= now)
            ),
            key=lambda r: r.updated_at,
        )[:limit]
        for r in pending:
            claims[r.id] = now + lease
        return [r.id for r in pending]

    async def release_exchange(self, return_id: UUID) -> None:
        self._db.exchange_claims.pop(return_id, None)

    async def get(self, return_id: UUID) -> ReturnRequest | None:
        r = self._db.returns.get(return_id)
        return self._load(r) if r is not None else None

    async def add(self, r: ReturnRequest) -> None:
        r.version = 1
        self._store(r)
        self.seen.append(r)

    async def save(self, r: ReturnRequest) -> None:
        r.version += 1
        self._store(r)

    def _store(self, r: ReturnRequest) -> None:
        stored = copy.deepcopy(r)
        stored.events = []  # events go to the outbox, not into the return's row
        self._db.returns[r.id] = stored

    @staticmethod
    def _load(r: ReturnRequest) -> ReturnRequest:
        return copy.deepcopy(r)


class FakePolicyStore:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def current(self) -> tuple[ReturnPolicy, datetime | None]:
        if not self._db.policies:
            return DEFAULT_POLICY, None
        return self._db.policies[-1]

    async def add(self, policy: ReturnPolicy, now: datetime, expected_version: int | None) -> int:
        current = self._db.policies[-1][0].version if self._db.policies else DEFAULT_POLICY.version
        if expected_version is not None and expected_version != current:
            raise PreconditionFailed(f"the return policy is at version {current}")
        # Stored as its document, as the database keeps it.
        stored = ReturnPolicy.from_dict(policy.to_dict(), current + 1)
        self._db.policies.append((stored, now))
        return stored.version


class FakeIdempotencyKeys:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self._claimed: tuple[str, str] | None = None

    async def replayed(
        self, *, scope: str, key: str | None, fingerprint: str
    ) -> StoredOutcome | None:
        if not key:
            return None
        earlier = self._db.idempotency_keys.get((scope, key))
        if earlier is None:
            self._db.idempotency_keys[(scope, key)] = StoredOutcome(fingerprint)
            self._claimed = (scope, key)
            return None
        if earlier.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used with a different request body"
            )
        return earlier

    async def complete(self, *, resource_id: str, status: int) -> None:
        if self._claimed is None:
            return
        fingerprint = self._db.idempotency_keys[self._claimed].fingerprint
        self._db.idempotency_keys[self._claimed] = StoredOutcome(fingerprint, resource_id, status)


class FakeUnitOfWork(UnitOfWork):
    orders: FakeOrderProjection
    returns: FakeReturnRepository
    policies: FakePolicyStore
    idempotency: FakeIdempotencyKeys

    def __init__(self, db: FakeDatabase, clock: Clock) -> None:
        self._db = db
        self.clock = clock

    async def __aenter__(self) -> Self:
        self._work = copy.deepcopy(self._db)
        self.orders = FakeOrderProjection(self._work)
        self.returns = FakeReturnRepository(self._work)
        self.policies = FakePolicyStore(self._work)
        self.idempotency = FakeIdempotencyKeys(self._work)
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
