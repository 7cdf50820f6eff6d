"""The saga worker's claims against the real database: what one process's claim holds, no other
process takes while it holds it, and takes again once its lease has lapsed.

Every saga here is due (or overdue) in 2001, and each claim is made "at" 2001: only this
test's rows are due then, whatever else the test database holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete

from libs.runtime import ServiceContainer
from services.orchestration.adapters.repository import SagaRepository
from services.orchestration.adapters.tables import order_saga, payment_operation
from services.orchestration.domain.payments import Kind, PaymentOperation
from services.orchestration.domain.saga import OrderSaga, SagaState
from tests.orchestration.integration.conftest import order_snapshot

T0 = datetime(2001, 1, 1, tzinfo=UTC)
LEASE = timedelta(seconds=30)


class Seeds:
    """Sagas written for one test, deleted after it (they are committed: claims commit)."""

    def __init__(self, container: ServiceContainer) -> None:
        self.container = container
        self.order_ids: list[UUID] = []

    async def sagas(
        self,
        count: int,
        *,
        state: SagaState = SagaState.ROUTING,
        due: bool = False,
        overdue: bool = False,
        payments: int = 0,
    ) -> list[UUID]:
        """`count` sagas in `state`, due for routing and/or past their deadline at T0, each
        with `payments` pending payment calls due at T0; their order ids, oldest due first."""
        ids = []
        async with self.container.session_factory() as session:
            repo = SagaRepository(session)
            for i in range(count):
                at = T0 - timedelta(seconds=count - i)
                saga = OrderSaga.start(uuid4(), order_snapshot("web"), at)
                saga.state = state
                saga.due_at = at if due else None
                saga.deadline_at = at if overdue else None
                for n in range(payments):
                    saga.new_operations.append(_authorization(saga.order_id, n, at))
                repo.add(saga)
                ids.append(saga.order_id)
            await repo.flush()
            await session.commit()
        self.order_ids += ids
        return ids

    async def remove(self) -> None:
        async with self.container.session_factory.begin() as session:
            await session.execute(
                delete(payment_operation).where(payment_operation.c.order_id.in_(self.order_ids))
            )
            await session.execute(
                delete(order_saga).where(order_saga.c.order_id.in_(self.order_ids))
            )


def _authorization(order_id: UUID, n: int, at: datetime) -> PaymentOperation:
    return PaymentOperation(
        id=uuid4(),
        order_id=order_id,
        kind=Kind.AUTHORIZE,
        amount=Decimal("44.90"),
        currency="EUR",
        created_at=at + timedelta(milliseconds=n),
        next_attempt_at=at,
    )


@pytest.fixture
async def seeds(container: ServiceContainer) -> AsyncIterator[Seeds]:
    s = Seeds(container)
    yield s
    await s.remove()


async def claim_routing(
    container: ServiceContainer, *, at: datetime, limit: int = 100
) -> set[UUID]:
    async with container.session_factory.begin() as session:
        sagas = await SagaRepository(session).claim_due_for_routing(at, limit, lease=LEASE)
    return {saga.order_id for saga in sagas}


async def claim_payments(
    container: ServiceContainer, *, at: datetime, limit: int = 100
) -> list[PaymentOperation]:
    async with container.session_factory.begin() as session:
        return await SagaRepository(session).claim_due_operations(at, limit, lease=LEASE)


class TestRoutingClaims:
    async def test_a_claim_takes_the_oldest_due_sagas_and_a_concurrent_one_the_rest(
        self, container: ServiceContainer, seeds: Seeds
    ) -> None:
        ids = await seeds.sagas(6, due=True)
        async with (
            container.session_factory.begin() as first,
            container.session_factory.begin() as second,
        ):
            # The first claim is not committed yet: its rows are locked, and skipped.
            taken = await SagaRepository(first).claim_due_for_routing(T0, 4, lease=LEASE)
            left = await SagaRepository(second).claim_due_for_routing(T0, 100, lease=LEASE)

        assert [s.order_id for s in sorted(taken, key=lambda s: ids.index(s.order_id))] == ids[:4]
        assert {s.order_id for s in left} == set(ids[4:])
        assert all(s.state is SagaState.ROUTING for s in [*taken, *left])

    async def test_claimed_sagas_are_not_due_to_anyone_until_the_lease_lapses(
        self, container: ServiceContainer, seeds: Seeds
    ) -> None:
        ids = await seeds.sagas(3, due=True)

        assert await claim_routing(container, at=T0) == set(ids)
        assert await claim_routing(container, at=T0 + LEASE - timedelta(seconds=1)) == set()
        # The process that claimed them died: another takes them once the lease has lapsed.
        assert await claim_routing(container, at=T0 + LEASE) == set(ids)

    async def test_only_sagas_waiting_for_routing_are_claimed(
        self, container: ServiceContainer, seeds: Seeds
    ) -> None:
        routing = await seeds.sagas(2, due=True)
        await seeds.sagas(2, state=SagaState.RESERVING, overdue=True)
        await seeds.sagas(2)

        assert await claim_routing(container, at=T0) == set(routing)


class TestPaymentClaims:
    async def test_concurrent_claims_take_disjoint_calls(
        self, container: ServiceContainer, seeds: Seeds
    ) -> None:
        await seeds.sagas(5, state=SagaState.AUTHORIZING, payments=1)
        async with (
            container.session_factory.begin() as first,
            container.session_factory.begin() as second,
        ):
            taken = await SagaRepository(first).claim_due_operations(T0, 3, lease=LEASE)
            left = await SagaRepository(second).claim_due_operations(T0, 100, lease=LEASE)

        assert len(taken) == 3
        assert len(left) == 2
        assert not {op.id for op in taken} & {op.id for op in left}
        assert {op.order_id for op in [*taken, *left]} == set(seeds.order_ids)

    async def test_a_claimed_call_is_made_again_only_after_its_lease(
        self, container: ServiceContainer, seeds: Seeds
    ) -> None:
        await seeds.sagas(1, state=SagaState.AUTHORIZING, payments=2)

        first = await claim_payments(container, at=T0)
        assert [op.created_at for op in first] == sorted(op.created_at for op in first)
        assert len(first) == 2
        assert await claim_payments(container, at=T0 + LEASE - timedelta(seconds=1)) == []
        again = await claim_payments(container, at=T0 + LEASE)
        # The same calls, so the provider is asked with the same idempotency keys.
        assert [op.idempotency_key for op in again] == [op.idempotency_key for op in first]


class TestOverdueSweep:
    async def test_each_sweep_takes_a_saga_no_other_transaction_holds(
        self, container: ServiceContainer, seeds: Seeds
    ) -> None:
        ids = await seeds.sagas(2, state=SagaState.RESERVING, overdue=True)
        async with (
            container.session_factory() as s1,
            container.session_factory() as s2,
            container.session_factory() as s3,
        ):
            first = await SagaRepository(s1).next_overdue_for_update(T0)
            second = await SagaRepository(s2).next_overdue_for_update(T0)
            third = await SagaRepository(s3).next_overdue_for_update(T0)

            assert first is not None and second is not None
            assert [first.order_id, second.order_id] == ids
            assert third is None
            for session in (s1, s2, s3):
                await session.rollback()
