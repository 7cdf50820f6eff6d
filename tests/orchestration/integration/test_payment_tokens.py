"""The payment token on its own path, against the real database: order-capture sends it on
oms.payments.commands, read beside oms.order.events, so it may come after the saga reached its
authorisation. The worker then waits for it, asking the provider nothing, and authorises with it
once it has come; a token sent again keeps the first."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, select

from libs.bus.message_bus import Delivery
from libs.runtime import ServiceContainer
from services.orchestration.adapters.repository import SagaRepository, saga_queues
from services.orchestration.adapters.tables import payment_operation, payment_token
from services.orchestration.domain import commands as c
from services.orchestration.domain.payments import OpStatus, ProviderResult
from services.orchestration.domain.saga import OrderSaga, SagaState
from services.orchestration.service_layer.handlers.worker import SagaWorker
from tests.orchestration.integration.conftest import order_snapshot


class RecordingProvider:
    """The payment provider's port, approving every call and keeping each authorisation's
    order (by its idempotency key) and token."""

    def __init__(self) -> None:
        self.authorized: dict[str, str] = {}  # idempotency key -> token

    async def authorize(
        self, *, key: str, token: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        self.authorized[key] = token
        return ProviderResult(True, reference=f"psp-{key}")

    async def capture(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        return ProviderResult(True, reference=f"psp-{key}")

    void = capture
    refund = capture


class AheadClock:
    """Real time moved ahead, so the worker finds a call due that real time would make it
    wait for (its retry backoff)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
async def orders(container: ServiceContainer) -> AsyncIterator[list[UUID]]:
    """The order ids a test started; their tokens and payment calls are deleted after it."""
    ids: list[UUID] = []
    yield ids
    async with container.session_factory.begin() as session:
        await session.execute(delete(payment_token).where(payment_token.c.order_id.in_(ids)))
        await session.execute(
            delete(payment_operation).where(payment_operation.c.order_id.in_(ids))
        )


@pytest.fixture(scope="module", autouse=True)
async def stocked(container: ServiceContainer) -> None:
    """A location in the routing view with the sample order's SKU: a start routes at once."""
    code = f"WH-TOKEN-{uuid4().hex[:6].upper()}"
    await container.bus.handle(
        c.ProjectLocation(
            code, "warehouse", True, ("ship",), "DE", 52.5, 13.4, 500, None, 0, None, "UTC", 1
        )
    )
    await container.bus.handle(c.ProjectStock("LAMP-001", code, 1_000_000))


async def authorizing(container: ServiceContainer, orders: list[UUID]) -> UUID:
    """An order placed with no token on its saga, its stock reserved: its authorisation due."""
    order_id = uuid4()
    orders.append(order_id)
    # As placed: the saga's order holds no token (only a new payment method puts one there).
    snapshot = replace(order_snapshot("web"), payment_token=None)
    await container.bus.handle(c.StartSaga(order_id, snapshot))
    saga = await saga_of(container, order_id)
    assert saga.in_flight is not None, "the start routed the order and asked for stock"
    lines = [
        c.ReservedLine(
            sku=h.sku,
            location_code=h.location_code,
            quantity=h.quantity,
            held=h.quantity,
            line_id=h.line_id,
        )
        for h in saga.in_flight.lines
    ]
    await container.bus.handle(
        c.RecordReservation(order_id, saga.in_flight.reservation_id, True, lines)
    )
    assert (await saga_of(container, order_id)).state is SagaState.AUTHORIZING
    return order_id


async def saga_of(container: ServiceContainer, order_id: UUID) -> OrderSaga:
    async with container.session_factory() as session:
        saga = await SagaRepository(session).get(order_id)
    assert saga is not None
    return saga


async def operations_of(container: ServiceContainer, order_id: UUID) -> list[tuple[str, str, int]]:
    """The order's payment calls: idempotency key, status and attempts."""
    async with container.session_factory() as session:
        rows = await session.execute(
            select(
                payment_operation.c.id,
                payment_operation.c.kind,
                payment_operation.c.status,
                payment_operation.c.attempts,
            ).where(payment_operation.c.order_id == order_id)
        )
        return [(f"{row.kind}:{row.id}", row.status, row.attempts) for row in rows]


def worker_of(
    container: ServiceContainer, provider: RecordingProvider, clock: AheadClock
) -> SagaWorker:
    return SagaWorker(
        bus=container.bus,
        queues=partial(saga_queues, container.session_factory),
        provider=provider,
        clock=clock,
        lease=timedelta(seconds=30),
    )


async def test_an_authorisation_due_before_its_token_waits_for_it_and_then_uses_it(
    container: ServiceContainer, orders: list[UUID]
) -> None:
    order_id = await authorizing(container, orders)
    provider, clock = RecordingProvider(), AheadClock()
    worker = worker_of(container, provider, clock)

    await worker.run_payments()

    ((key, status, attempts),) = await operations_of(container, order_id)
    assert key not in provider.authorized, "nobody was asked yet"
    assert (status, attempts) == (OpStatus.PENDING.value, 1)
    assert (await saga_of(container, order_id)).state is SagaState.AUTHORIZING

    # The token comes late, through the consumer's path (a batch, as the consumer hands it).
    await container.bus.handle_batch(
        [Delivery(c.KeepPaymentToken(order_id, "tok_late_4242"), None, str(order_id), _scope)]
    )
    clock.ahead = timedelta(seconds=10)  # past the retry's backoff
    await worker.run_payments()

    assert provider.authorized[key] == "tok_late_4242"
    assert await operations_of(container, order_id) == [(key, OpStatus.SUCCEEDED.value, 2)]
    saga = await saga_of(container, order_id)
    assert saga.payment.status == "authorized"
    assert saga.state is SagaState.FULFILLING


async def test_a_token_sent_again_keeps_the_first_in_one_batch_or_two(
    container: ServiceContainer, orders: list[UUID]
) -> None:
    order_id = uuid4()
    orders.append(order_id)

    def keep(token: str | None) -> Delivery:
        return Delivery(c.KeepPaymentToken(order_id, token), None, str(order_id), _scope)

    await container.bus.handle_batch([keep("tok_first"), keep("tok_second")])
    await container.bus.handle_batch([keep("tok_third")])

    async with container.session_factory() as session:
        kept = await session.execute(
            select(payment_token.c.token).where(payment_token.c.order_id == order_id)
        )
        assert kept.scalars().all() == ["tok_first"]


def _scope() -> contextlib.nullcontext[None]:
    return contextlib.nullcontext()
