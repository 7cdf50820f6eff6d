"""The saga worker: the steps that wait (another plan, a payment call to the provider).

A placed order is routed when its saga starts; the worker plans again what is due later (a
plan inventory refused, a part a location rejected, an order waiting for the view of
inventory), each in a transaction of its own that re-checks the saga first.

Calls to the outside happen outside any transaction; their answers are applied by the bus in
a transaction of their own that re-checks the saga first. A crash between the call and the
commit leaves the step due, so it is simply done again: the payment call is repeated with
the same idempotency key, which the provider answers with its first outcome.

A service may run several processes, each with this worker. Each step is claimed first (see
service_layer.unit_of_work.SagaQueues): a saga to route or a payment call to make is one
process's for a lease, so two processes never make the same call, and work whose process died
is taken up by another once the lease has lapsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

from libs.bus.message_bus import Delivery
from libs.clock import Clock
from libs.jobs import PeriodicJob, Wakeup
from libs.observability.correlation import correlation_scope
from libs.observability.logging import get_logger
from services.orchestration.domain import commands as c
from services.orchestration.domain.payments import (
    Kind,
    PaymentOperation,
    PaymentProvider,
    ProviderResult,
    ProviderTimeout,
)
from services.orchestration.domain.saga import OrderSaga
from services.orchestration.service_layer.unit_of_work import QueuesFactory

log = get_logger(__name__)
BATCH = 20
# Sagas of a batch worked on at once. Each step waits on inventory or the payment provider
# and then on its own commit; one at a time, a busy worker mostly waits. Sagas are
# independent (each step re-checks its saga in its own transaction), so they overlap.
CONCURRENCY = 8


class CommandBus(Protocol):
    """What the worker hands its steps to (libs.bus.message_bus.MessageBus)."""

    async def handle(self, message: object) -> Any: ...

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None: ...


class SagaWorker:
    def __init__(
        self,
        *,
        bus: CommandBus,
        queues: QueuesFactory,
        provider: PaymentProvider,
        clock: Clock,
        lease: timedelta,
        wakeup: Wakeup | None = None,
    ) -> None:
        self._bus = bus
        self._lease = lease
        self._wakeup = wakeup
        self._queues = queues
        self._provider = provider
        self._clock = clock

    def jobs(self, interval_s: float) -> list[PeriodicJob]:
        # Routing and payments are woken when a saga commits (a new order is due for routing
        # the moment it is placed, a payment the moment stock is reserved): without it, each
        # waits half an interval on average. Overdue sweeps are about time, so they just poll.
        return [
            PeriodicJob(
                name="route-due-sagas",
                interval_s=interval_s,
                run_once=self.route_due,
                wakeup=self._wakeup,
            ),
            PeriodicJob(
                name="run-payments",
                interval_s=interval_s,
                run_once=self.run_payments,
                wakeup=self._wakeup,
            ),
            PeriodicJob(name="sweep-overdue", interval_s=interval_s, run_once=self.sweep_overdue),
        ]

    # --- routing ---------------------------------------------------------------------------

    async def route_due(self) -> int:
        async with self._queues() as repository:
            now = self._clock.now()
            await repository.wake_waiting(now)
            sagas = await repository.claim_due_for_routing(now, BATCH, lease=self._lease)
        await at_most(CONCURRENCY, [self._route_one(saga) for saga in sagas])
        return len(sagas)

    async def _route_one(self, saga: OrderSaga) -> None:
        with _story_of(saga):
            await self._bus.handle(c.RouteSaga(saga.order_id, saga.round))

    # --- waits that ran too long -------------------------------------------------------------

    async def sweep_overdue(self) -> int:
        """Sagas past their deadline stop waiting: each is compensated in its own transaction,
        which holds the saga's row while it does (processes sweeping at once take others)."""
        swept: list[UUID] = []
        while len(swept) < BATCH:
            order_id: UUID | None = await self._bus.handle(c.SweepOverdue())
            if order_id is None or order_id in swept:
                break  # none left; or one its compensation left overdue, back at once
            log.warning("saga.overdue", order_id=str(order_id))
            swept.append(order_id)
        return len(swept)

    # --- payments --------------------------------------------------------------------------

    async def run_payments(self) -> int:
        """The due payment calls: each made outside any transaction, and then every answer
        applied in one transaction (a batch of them, each order's in turn, under its saga's
        lock); if that fails, each answer in a transaction of its own."""
        by_order: dict[UUID, list[PaymentOperation]] = {}
        async with self._queues() as repo:
            due = await repo.claim_due_operations(self._clock.now(), BATCH, lease=self._lease)
            for op in due:
                by_order.setdefault(op.order_id, []).append(op)
            sagas = await repo.get_many(list(by_order))
            tokens = await repo.payment_tokens(
                [op.order_id for op in due if op.kind is Kind.AUTHORIZE]
            )
        answers: list[Delivery] = []
        # One order's operations in turn; orders at once. Two processes may each hold a call
        # of one order (both due together): each call has its own amount and idempotency
        # key, and the answers are applied under the saga's lock.
        await at_most(
            CONCURRENCY,
            [
                self._pay_in_turn(ops, sagas[order_id], tokens, answers)
                for order_id, ops in by_order.items()
                if order_id in sagas
            ],
        )
        if answers:
            try:
                await self._bus.handle_batch(answers)
            except Exception as exc:
                log.warning("payment.answers_apart", answers=len(answers), error=repr(exc))
                for answer in answers:
                    with answer.scope():
                        await self._bus.handle(answer.message)
        return len(due)

    async def _pay_in_turn(
        self,
        ops: list[PaymentOperation],
        saga: OrderSaga,
        tokens: dict[UUID, str | None],
        answers: list[Delivery],
    ) -> None:
        with _story_of(saga):
            for op in ops:
                # The customer's new payment method first, else the token order-capture sent;
                # an authorisation whose token has not come yet waits for it, asking nobody.
                missing = (
                    op.kind is Kind.AUTHORIZE
                    and saga.order.payment_token is None
                    and op.order_id not in tokens
                )
                token = saga.order.payment_token or tokens.get(op.order_id) or ""
                result = None if missing else await self._pay(op, saga, token)
                answers.append(
                    Delivery(
                        c.RecordPaymentAnswer(op.id, result, op.order_id, token_missing=missing),
                        None,
                        saga.key,
                        _story(saga),
                    )
                )

    async def _pay(
        self, op: PaymentOperation, saga: OrderSaga, token: str
    ) -> ProviderResult | None:
        """The provider's answer; None when it did not answer (to be asked again later)."""
        key = op.idempotency_key
        money: dict[str, Any] = {"key": key, "amount": op.amount, "currency": op.currency}
        try:
            if op.kind is Kind.AUTHORIZE:
                return await self._provider.authorize(token=token, **money)
            call = {
                Kind.CAPTURE: self._provider.capture,
                Kind.VOID: self._provider.void,
                Kind.REFUND: self._provider.refund,
            }[op.kind]
            return await call(authorization=saga.payment.authorization or "", **money)
        except (ProviderTimeout, TimeoutError, OSError) as exc:
            log.warning("payment.timeout", order_id=saga.key, operation=key, error=repr(exc))
            return None


async def at_most(limit: int, steps: Sequence[Coroutine[Any, Any, None]]) -> None:
    """Runs `steps` with at most `limit` at a time; the first failure cancels the rest (the
    batch is logged as failed and its sagas stay due, as when run one by one)."""
    gate = asyncio.Semaphore(limit)

    async def gated(step: Coroutine[Any, Any, None]) -> None:
        try:
            async with gate:
                await step
        finally:
            step.close()  # one cancelled before it began is closed, not left never awaited

    async with asyncio.TaskGroup() as group:
        for step in steps:
            group.create_task(gated(step))


def _story_of(saga: OrderSaga) -> AbstractContextManager[str]:
    extra = saga.order.extra
    return correlation_scope(extra.get("correlation_id"), extra.get("causation_id"))


def _story(saga: OrderSaga) -> Callable[[], AbstractContextManager[str]]:
    """The saga's story, to enter later (when its answer is applied with others)."""
    return lambda: _story_of(saga)
