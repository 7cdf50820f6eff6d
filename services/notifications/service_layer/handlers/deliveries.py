"""The webhook delivery worker, and what it records of each attempt.

The worker claims due deliveries for a lease in a short transaction of its own
(service_layer.unit_of_work.DeliveryQueue), sends each outside any transaction, then hands the
outcome to the bus (`RecordAttempt`), whose handler writes the attempt to the ledger, the
delivery's next attempt or end, and the endpoint's health, in one transaction with the event
of an endpoint it disables. A process that dies between sending and recording leaves the lease
to lapse: the delivery is sent again (at least once; `webhook-id` lets the receiver dedupe).

Several processes may each run the worker: a claim skips what another holds (FOR UPDATE SKIP
LOCKED, then a lease), and an endpoint's PER_ENDPOINT counts the requests every process has out
to it (its leased deliveries), not only this one's. Only the earliest pending delivery of an
endpoint's order is ever claimed, so one order's events reach an endpoint in the order they
were recorded, while other orders and other endpoints go on.

No receiver holds up another: the worker claims only as many deliveries as it has free slots
and does not wait for their answers, an endpoint gets at most PER_ENDPOINT of the slots, and a
first attempt is claimed before any retry (a receiver that is down, retried, never queues a new
event behind its backlog).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from libs.clock import Clock
from libs.jobs import PeriodicJob, Wakeup
from libs.observability.logging import get_logger
from services.notifications.domain import commands
from services.notifications.domain.delivery import (
    DeliveryStatus,
    DueDelivery,
    Outcome,
    RetryPolicy,
    judge,
)
from services.notifications.service_layer.handlers import metrics
from services.notifications.service_layer.unit_of_work import QueueFactory, UnitOfWork

log = get_logger(__name__)
# Requests in flight at once in a process, and of them to one endpoint: a receiver that hangs
# holds its own slots for the timeout, never the others'.
CONCURRENCY = 16
PER_ENDPOINT = 4
# Deliveries the purge deletes per transaction (with their attempts).
PURGE_BATCH = 1000


class WebhookSender(Protocol):
    async def send(self, delivery: DueDelivery, at: datetime) -> Outcome:
        """One signed request; never raises for the receiver's sake (its failure is the
        outcome)."""
        ...


class CommandBus(Protocol):
    async def handle(self, message: object) -> Any: ...


def record_attempt_handler(
    policy: RetryPolicy,
) -> Callable[[commands.RecordAttempt, UnitOfWork], Coroutine[Any, Any, None]]:
    async def record_attempt(cmd: commands.RecordAttempt, uow: UnitOfWork) -> None:
        now = uow.clock.now()
        verdict = judge(cmd.delivery, cmd.outcome, now, policy, cmd.jitter)
        await uow.deliveries.record_attempt(
            cmd.delivery.id, cmd.delivery.attempts + 1, cmd.started_at, cmd.outcome, verdict
        )
        endpoint = await uow.endpoints.get_for_update(cmd.delivery.endpoint_id)
        if endpoint is not None:
            if verdict.status is DeliveryStatus.DELIVERED:
                endpoint.delivered()
            else:
                endpoint.attempt_failed(
                    now,
                    out_of_retries=verdict.status is DeliveryStatus.FAILED,
                    disable_after=policy.disable_after,
                )
            await uow.endpoints.save(endpoint)
        await uow.commit()
        metrics.webhook_attempt(
            "retry" if verdict.status is DeliveryStatus.PENDING else verdict.status.value
        )

    return record_attempt


class DeliveryWorker:
    def __init__(
        self,
        *,
        bus: CommandBus,
        queue: QueueFactory,
        sender: WebhookSender,
        clock: Clock,
        lease: timedelta,
        retention: timedelta,
        wakeup: Wakeup | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._bus = bus
        self._queue = queue
        self._sender = sender
        self._clock = clock
        self._lease = lease
        self._retention = retention
        # Woken when a send ends (a slot is free) as well as by whoever is given it.
        self._wakeup = wakeup or Wakeup()
        self._jitter = jitter
        self._in_flight: dict[asyncio.Task[None], UUID] = {}

    def jobs(self, interval_s: float) -> list[PeriodicJob]:
        return [
            PeriodicJob(
                name="send-webhooks",
                interval_s=interval_s,
                run_once=self.send_due,
                wakeup=self._wakeup,
            ),
            PeriodicJob(name="purge-deliveries", interval_s=3600, run_once=self.purge),
        ]

    async def send_due(self) -> int:
        """Claims due deliveries for the free slots and starts sending them, without waiting
        for their answers; the number started."""
        free = CONCURRENCY - len(self._in_flight)
        if free <= 0:
            return 0
        async with self._queue() as queue:
            due = await queue.claim_due(
                self._clock.now(),
                free,
                lease=self._lease,
                per_endpoint=PER_ENDPOINT,
                in_flight=Counter(self._in_flight.values()),
            )
        for delivery in due:
            task = asyncio.create_task(self._send(delivery))
            self._in_flight[task] = delivery.endpoint_id
            task.add_done_callback(self._sent)
        return len(due)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wakeup.wake()

    async def settle(self) -> None:
        """Until every send started has been recorded (tests; a stop that may wait)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _send(self, delivery: DueDelivery) -> None:
        started = self._clock.now()
        outcome = await self._sender.send(delivery, started)
        log.info(
            "webhook.attempt",
            delivery_id=str(delivery.id),
            webhook_id=delivery.webhook_id,
            attempt=delivery.attempts + 1,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
        )
        try:
            await self._bus.handle(
                commands.RecordAttempt(delivery, started, outcome, self._jitter())
            )
        except Exception as exc:
            # Not recorded: the lease lapses and the delivery is sent again (at least once).
            log.warning(
                "webhook.attempt_not_recorded", delivery_id=str(delivery.id), error=repr(exc)
            )

    async def purge(self) -> int:
        """Deliveries past the retention that are done (delivered or failed), with their
        attempts; a pending one is kept whatever its age. A batch per transaction, each
        skipping what another process's purge holds, so every process may run it at once."""
        before = self._clock.now() - self._retention
        purged = 0
        while True:
            async with self._queue() as queue:
                batch = await queue.purge(before, PURGE_BATCH)
            purged += batch
            if batch < PURGE_BATCH:
                break
        if purged:
            log.info("webhook.deliveries_purged", deliveries=purged)
        return 0  # once an hour is enough, however many went
