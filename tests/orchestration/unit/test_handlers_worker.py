"""The saga worker (service_layer.handlers.worker) on the fake unit of work and queues: it
plans again the orders that are due, makes the due payment calls outside any transaction and
applies their answers, asks again later (with the same key) a provider that did not answer,
and sweeps the sagas past their deadlines, each once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from services.orchestration.domain import commands as c
from services.orchestration.domain.payments import ProviderResult, ProviderTimeout
from services.orchestration.domain.saga import SagaPolicy, SagaState
from services.orchestration.service_layer.handlers.worker import SagaWorker
from tests.orchestration.unit.fakes import FakeBus
from tests.orchestration.unit.test_handlers_sagas import placed, reserved, state, stocked


class Provider:
    """Approves every call, or answers nothing while `silent`; keeps the calls made."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Decimal]] = []
        self.tokens: list[str] = []  # of the authorisations
        self.silent = False

    async def _answer(self, kind: str, key: str, amount: Decimal) -> ProviderResult:
        self.calls.append((kind, key, amount))
        if self.silent:
            raise ProviderTimeout(kind)
        return ProviderResult(True, reference=f"psp-{kind}-{len(self.calls)}")

    async def authorize(
        self, *, key: str, token: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        self.tokens.append(token)
        return await self._answer("authorize", key, amount)

    async def capture(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        return await self._answer("capture", key, amount)

    async def void(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        return await self._answer("void", key, amount)

    async def refund(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        return await self._answer("refund", key, amount)


def worker_of(bus: FakeBus, provider: Provider | None = None) -> SagaWorker:
    return SagaWorker(
        bus=bus,
        queues=bus.queues,
        provider=provider or Provider(),
        clock=bus.clock,
        lease=timedelta(seconds=30),
    )


async def test_an_order_waiting_for_stock_is_planned_again_once_stock_has_arrived() -> None:
    bus = FakeBus(routing_grace=timedelta(0))
    order_id = await placed(bus)
    worker = worker_of(bus)
    assert state(bus, order_id) is SagaState.WAITING_FOR_STOCK

    assert await worker.route_due() == 0  # not due yet, and nothing could serve it
    await stocked(bus)
    assert await worker.route_due() == 1

    assert state(bus, order_id) is SagaState.RESERVING


async def test_the_due_payment_call_is_made_and_its_answer_moves_the_order_on() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus)
    await reserved(bus, order_id)
    (op,) = bus.storage.pending_operations(order_id)
    provider = Provider()
    worker = worker_of(bus, provider)

    assert await worker.run_payments() == 1

    assert provider.calls == [("authorize", op.idempotency_key, Decimal("44.90"))]
    assert provider.tokens == ["tok_visa"]  # the token order-capture sent on its own topic
    assert state(bus, order_id) is SagaState.FULFILLING
    assert await worker.run_payments() == 0


async def test_an_authorisation_due_before_its_token_came_waits_for_it_asking_nobody() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus, token=None)
    await reserved(bus, order_id)
    provider = Provider()
    worker = worker_of(bus, provider)

    assert await worker.run_payments() == 1

    assert provider.calls == []
    (op,) = bus.storage.pending_operations(order_id)
    assert (op.attempts, op.reason) == (1, "waiting for the order's payment token; retrying")
    assert state(bus, order_id) is SagaState.AUTHORIZING
    await bus.handle(c.KeepPaymentToken(order_id, "tok_late"))
    bus.clock.advance(op.next_attempt_at - bus.clock.now())
    assert await worker.run_payments() == 1

    assert provider.calls == [("authorize", op.idempotency_key, Decimal("44.90"))]
    assert provider.tokens == ["tok_late"]
    assert state(bus, order_id) is SagaState.FULFILLING


async def test_a_token_that_never_comes_declines_the_payment_and_holds_the_order() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus, token=None)
    await reserved(bus, order_id)
    provider = Provider()
    worker = worker_of(bus, provider)

    for _ in range(SagaPolicy().payment_attempts):
        assert await worker.run_payments() == 1
        pending = bus.storage.pending_operations(order_id)
        if pending:
            bus.clock.advance(pending[0].next_attempt_at - bus.clock.now())

    assert provider.calls == []
    assert bus.storage.pending_operations(order_id) == []
    saga = bus.storage.saga(order_id)
    assert saga.payment.status == "declined"
    assert saga.state is SagaState.ON_HOLD  # the default policy: a new payment method may come
    (declined,) = [
        e for e in bus.storage.outbox if e.event_type == "oms.orchestration.payment_declined"
    ]
    assert declined.model_dump()["code"] == "payment_token_missing"


async def test_a_payment_token_sent_again_keeps_the_first() -> None:
    bus = FakeBus()
    order_id = await placed(bus, token="tok_first")
    await bus.handle(c.KeepPaymentToken(order_id, "tok_again"))

    assert bus.storage.payment_tokens == {order_id: "tok_first"}


async def test_a_call_the_provider_left_unanswered_is_made_again_later_with_its_key() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus)
    await reserved(bus, order_id)
    provider = Provider()
    provider.silent = True
    worker = worker_of(bus, provider)

    assert await worker.run_payments() == 1
    assert await worker.run_payments() == 0  # waits before asking again
    (op,) = bus.storage.pending_operations(order_id)
    assert op.attempts == 1
    bus.clock.advance(op.next_attempt_at - bus.clock.now())
    provider.silent = False
    assert await worker.run_payments() == 1

    (first, again) = provider.calls
    assert first == again
    assert state(bus, order_id) is SagaState.FULFILLING


async def test_each_overdue_saga_is_swept_once() -> None:
    bus = FakeBus()
    await stocked(bus)
    orders = [await placed(bus), await placed(bus)]
    worker = worker_of(bus)

    assert await worker.sweep_overdue() == 0
    bus.clock.advance(SagaPolicy().reservation_timeout)

    assert await worker.sweep_overdue() == 2
    assert [state(bus, o) for o in orders] == [SagaState.ROUTING, SagaState.ROUTING]
    assert await worker.sweep_overdue() == 0
