"""Waking orders that wait for stock, against the real database: an order is due again when
the view's stock of one of its SKUs changed after it last looked and is there now; not for
another SKU's stock, stock it already saw, or a change to nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import select, text

from libs.runtime import ServiceContainer
from services.orchestration.adapters.repository import SagaRepository
from services.orchestration.adapters.routing_view import touch_stock_of
from services.orchestration.adapters.tables import order_saga
from services.orchestration.domain.order import OrderLine
from services.orchestration.domain.saga import OrderSaga, SagaState
from tests.orchestration.integration.conftest import order_snapshot

LATER = timedelta(minutes=10)


async def waiting(container: ServiceContainer, sku: str, looked_at: datetime) -> UUID:
    """A saga of one line of `sku`, waiting for stock since `looked_at`, due in 10 minutes."""
    order_id = uuid4()
    sample = order_snapshot("web")
    order = replace(sample, lines=(OrderLine("L1", sku, 1, sample.lines[0].value),))
    saga = OrderSaga.start(order_id, order, looked_at)
    saga.state, saga.due_at, saga.updated_at = (
        SagaState.WAITING_FOR_STOCK,
        looked_at + LATER,
        looked_at,
    )
    async with container.session_factory() as session:
        repo = SagaRepository(session)
        repo.add(saga)
        await repo.flush()
        await session.commit()
    return order_id


async def stock(
    container: ServiceContainer, sku: str, code: str, available: int, changed_at: datetime
) -> None:
    async with container.session_factory() as session:
        await session.execute(
            text(
                "INSERT INTO routing_stock (sku, location_code, available, changed_at)"
                " VALUES (:sku, :code, :n, :at) ON CONFLICT (sku, location_code)"
                " DO UPDATE SET available = :n, changed_at = :at"
            ),
            {"sku": sku, "code": code, "n": available, "at": changed_at},
        )
        await session.commit()


async def wake(container: ServiceContainer, now: datetime) -> None:
    async with container.session_factory() as session:
        await SagaRepository(session).wake_waiting(now)
        await session.commit()


async def due(container: ServiceContainer, order_id: UUID) -> datetime:
    async with container.session_factory() as session:
        found = await session.scalar(
            select(order_saga.c.due_at).where(order_saga.c.order_id == order_id)
        )
    assert isinstance(found, datetime)
    return found


async def test_stock_that_changed_after_the_order_looked_wakes_it(
    container: ServiceContainer,
) -> None:
    now = datetime.now(UTC)
    sku, other = f"W-{uuid4().hex[:8]}", f"W-{uuid4().hex[:8]}"
    looked = now - timedelta(seconds=30)
    woken = await waiting(container, sku, looked)
    unrelated = await waiting(container, other, looked)
    await stock(container, sku, "WH-W1", 4, now - timedelta(seconds=5))

    await wake(container, now)

    assert await due(container, woken) == now
    assert await due(container, unrelated) == looked + LATER


async def test_stock_the_order_already_saw_or_none_at_all_leaves_it_waiting(
    container: ServiceContainer,
) -> None:
    now = datetime.now(UTC)
    seen, gone = f"W-{uuid4().hex[:8]}", f"W-{uuid4().hex[:8]}"
    looked = now - timedelta(seconds=30)
    await stock(container, seen, "WH-W1", 4, looked - timedelta(seconds=5))  # before it looked
    await stock(container, gone, "WH-W1", 0, now - timedelta(seconds=5))  # changed to nothing
    first = await waiting(container, seen, looked)
    second = await waiting(container, gone, looked)

    await wake(container, now)

    assert await due(container, first) == looked + LATER
    assert await due(container, second) == looked + LATER


async def test_a_location_active_again_counts_as_its_stock_changing(
    container: ServiceContainer,
) -> None:
    now = datetime.now(UTC)
    sku, code = f"W-{uuid4().hex[:8]}", f"WH-{uuid4().hex[:6]}"
    looked = now - timedelta(seconds=30)
    await stock(container, sku, code, 4, looked - timedelta(seconds=5))
    order_id = await waiting(container, sku, looked)
    async with container.session_factory() as session:
        await touch_stock_of(session, code)
        await session.commit()

    await wake(container, datetime.now(UTC))

    assert await due(container, order_id) <= datetime.now(UTC)
