"""The webhook delivery worker against the real database and a real receiver over HTTP:
signed as Standard Webhooks says (verified with its library), retried, never redirected,
never held up by a slow receiver, one order's events in order, and sent again after a
worker died holding it."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select

from libs.runtime import ServiceContainer
from services.notifications.adapters.repository import delivery_queue
from services.notifications.adapters.tables import webhook_delivery, webhook_delivery_attempt
from services.notifications.adapters.webhook_sender import HttpWebhookSender
from services.notifications.bootstrap import bootstrap, targets_of
from services.notifications.config import NotificationsSettings
from services.notifications.domain import commands
from services.notifications.domain.delivery import Outcome
from services.notifications.service_layer.handlers.deliveries import PER_ENDPOINT, DeliveryWorker
from tests.support.polling import eventually
from tests.support.webhooks import serving
from tools.webhook_receiver import Receiver

V1 = "/v1/webhook-endpoints"
# Receivers on this machine; retries at once (no floor, a 50 ms first wait); attempts cut off
# after half a second.
SETTINGS = NotificationsSettings(
    WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
    WEBHOOK_RETRY_FIRST_S=0.05,
    WEBHOOK_RETRY_FLOOR_S=0,
    WEBHOOK_TIMEOUT_S=0.5,
)


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap(SETTINGS)
    yield c
    await c.engine.dispose()


@contextlib.asynccontextmanager
async def worker_with(
    container: ServiceContainer, timeout_s: float
) -> AsyncIterator[DeliveryWorker]:
    """A delivery worker of the service's own parts, its attempts cut off after `timeout_s`."""
    sender = HttpWebhookSender(timeout_s=timeout_s, policy=targets_of(SETTINGS))
    try:
        yield DeliveryWorker(
            bus=container.bus,
            queue=partial(delivery_queue, container.session_factory),
            sender=sender,
            clock=container.clock,
            lease=timedelta(seconds=30),
            retention=timedelta(days=30),
        )
    finally:
        await sender.close()


@pytest.fixture
async def worker(container: ServiceContainer) -> AsyncIterator[DeliveryWorker]:
    async with worker_with(container, SETTINGS.WEBHOOK_TIMEOUT_S) as made:
        yield made


async def endpoint(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    r = await client.post(
        V1,
        json={"url": url, "event_types": ["oms.order.*"]},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def record(container: ServiceContainer, order_id: UUID, n: int = 1) -> list[str]:
    """`n` events of the order, in order, as the consumer would record them."""
    ids = []
    for i in range(n):
        event_id = str(uuid.uuid4())
        cloud_event = {
            "specversion": "1.0",
            "id": event_id,
            "type": "oms.order.status_changed",
            "subject": str(order_id),
            "data": {"order_id": str(order_id), "sequence": i + 1},
        }
        await container.bus.handle(
            commands.RecordEvent(
                event_id=event_id,
                event_type="oms.order.status_changed",
                occurred_at=datetime.now(UTC),
                key=str(order_id),
                order_id=order_id,
                channel="web",
                cloud_event=cloud_event,
            )
        )
        ids.append(event_id)
    return ids


async def deliveries_to(container: ServiceContainer, endpoint_id: str) -> list[Any]:
    async with container.session_factory() as s:
        rows = await s.execute(
            select(webhook_delivery)
            .where(webhook_delivery.c.endpoint_id == UUID(endpoint_id))
            .order_by(webhook_delivery.c.seq)
        )
        return list(rows)


async def attempts_of(container: ServiceContainer, delivery_id: UUID) -> list[Any]:
    async with container.session_factory() as s:
        rows = await s.execute(
            select(webhook_delivery_attempt)
            .where(webhook_delivery_attempt.c.delivery_id == delivery_id)
            .order_by(webhook_delivery_attempt.c.number)
        )
        return list(rows)


async def send_until(worker: DeliveryWorker, done: Any, what: str) -> None:
    """Run the worker's batches until `done()` (a plain or an async callable) holds."""

    async def probe() -> bool:
        await worker.send_due()
        await worker.settle()
        result = done()
        return bool(await result if inspect.isawaitable(result) else result)

    await eventually(probe, timeout=15, interval=0.05, what=what)


async def test_a_delivery_is_signed_as_standard_webhooks_says_and_recorded(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    receiver = Receiver()
    async with serving(receiver) as served:
        created = await endpoint(client, served.url)
        receiver.secrets = [created["secret"]]
        (event_id,) = await record(container, uuid.uuid4())

        await send_until(worker, lambda: receiver.received, "the delivery at the receiver")

    (got,) = receiver.received
    assert got.verified is True and got.status == 204
    assert got.webhook_id == event_id and got.event["id"] == event_id
    assert got.headers["content-type"] == "application/json"
    assert abs(int(got.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    (delivery,) = await deliveries_to(container, created["id"])
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    assert delivery.delivered_at is not None and delivery.leased_until is None
    (attempt,) = await attempts_of(container, delivery.id)
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 204, None)


async def test_a_500_is_retried_with_the_same_webhook_id_and_each_attempt_is_in_the_ledger(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    receiver = Receiver(status=500)
    counted_before = {outcome: attempts_counted(outcome) for outcome in OUTCOMES}
    started = datetime.now(UTC)
    async with serving(receiver) as served:
        created = await endpoint(client, served.url)
        await record(container, uuid.uuid4())

        async def attempts() -> list[Any]:
            (delivery,) = await deliveries_to(container, created["id"])
            return await attempts_of(container, delivery.id)

        await send_until(worker, lambda: _at_least(attempts, 2), "two failed attempts")
        receiver.status = 200
        await send_until(
            worker,
            lambda: _status(container, created["id"], "delivered"),
            "the delivery after the receiver recovered",
        )

    ids = {got.webhook_id for got in receiver.received}
    assert len(ids) == 1 and len(receiver.received) >= 3
    recorded = await attempts()
    assert [a.number for a in recorded] == list(range(1, len(recorded) + 1))
    assert [a.status_code for a in recorded][-1] == 200
    assert all(a.status_code == 500 and a.error == "answered 500" for a in recorded[:-1])
    # On /metrics, every attempt the ledger recorded meanwhile (this test's, and the earlier
    # tests' endpoints', which match the same events), by its outcome.
    counted = {o: attempts_counted(o) - counted_before[o] for o in OUTCOMES}
    async with container.session_factory() as s:
        codes = list(
            await s.scalars(
                select(webhook_delivery_attempt.c.status_code).where(
                    webhook_delivery_attempt.c.started_at >= started
                )
            )
        )
    answered = sum(1 for code in codes if code is not None and 200 <= code < 300)
    assert counted["delivered"] == answered >= 1
    assert counted["retry"] + counted["failed"] == len(codes) - answered >= len(recorded) - 1


OUTCOMES = ("delivered", "retry", "failed")


def attempts_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("oms_webhook_attempts_total", {"outcome": outcome}) or 0.0


async def test_a_redirect_is_not_followed(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    target = Receiver()
    async with serving(target) as elsewhere:
        redirecting = Receiver(status=307, headers={"location": elsewhere.url})
        async with serving(redirecting) as served:
            created = await endpoint(client, served.url)
            await record(container, uuid.uuid4())
            await send_until(worker, lambda: redirecting.received, "the first attempt")

    assert target.received == []
    (delivery,) = await deliveries_to(container, created["id"])
    (attempt, *_) = await attempts_of(container, delivery.id)
    assert attempt.status_code == 307
    assert attempt.error == "answered 307: redirects are not followed"


async def test_a_hanging_receiver_times_out_without_holding_up_another_endpoint(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    hanging, healthy = Receiver(delay_s=30), Receiver()
    async with (
        worker_with(container, timeout_s=5) as worker,
        serving(hanging) as slow,
        serving(healthy) as fast,
    ):
        stuck = await endpoint(client, slow.url)
        fine = await endpoint(client, fast.url)
        await record(container, uuid.uuid4())

        async def delivered() -> bool:
            await worker.send_due()  # as the job does: claim whatever slots are free
            return await _status(container, fine["id"], "delivered")

        await eventually(delivered, what="the healthy endpoint's delivery while the other hangs")
        # Delivered while the hanging request was out and not yet answered.
        (slow_one,) = await deliveries_to(container, stuck["id"])
        assert len(hanging.received) == 1
        assert await attempts_of(container, slow_one.id) == []
        await worker.settle()

    assert len(healthy.received) == 1
    (slow_one,) = await deliveries_to(container, stuck["id"])
    (attempt,) = await attempts_of(container, slow_one.id)
    assert attempt.status_code is None and attempt.error == "no answer within 5 s"
    assert slow_one.status == "pending"


async def test_a_slow_endpoint_with_a_backlog_takes_a_few_slots_and_others_go_on(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    # Slow, but well within the timeout: what it is answering is what the worker has in
    # flight (a request the worker gave up on would still count at the receiver).
    hanging, healthy = Receiver(delay_s=0.4), Receiver()
    async with (
        worker_with(container, timeout_s=5) as worker,
        serving(hanging) as slow,
        serving(healthy) as fast,
    ):
        await endpoint(client, slow.url)
        for _ in range(30):  # thirty orders' events for the slow receiver first
            await record(container, uuid.uuid4())
        fine = await endpoint(client, fast.url)
        await record(container, uuid.uuid4())  # then one for both

        async def delivered() -> bool:
            await worker.send_due()  # as the job does: claim whatever slots are free
            return await _status(container, fine["id"], "delivered")

        await eventually(
            delivered, what="the healthy endpoint's delivery beside a slow endpoint's backlog"
        )
        await worker.settle()

    assert len(hanging.received) >= PER_ENDPOINT  # it was tried, and kept trying
    assert hanging.most_in_flight <= PER_ENDPOINT  # never more of the slots at once
    assert len(healthy.received) == 1


async def test_an_orders_later_event_waits_for_the_earlier_while_other_orders_go_on(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    created = await endpoint(client, "http://127.0.0.1:9/never-sent")
    first_order, second_order = uuid.uuid4(), uuid.uuid4()
    a1, a2 = await record(container, first_order, 2)
    (b1,) = await record(container, second_order)
    mine = {a1, a2, b1}

    async with delivery_queue(container.session_factory) as queue:
        claimed = await queue.claim_due(
            datetime.now(UTC), 500, lease=timedelta(seconds=30), per_endpoint=500
        )
    first_round = {d.webhook_id for d in claimed} & mine

    assert first_round == {a1, b1}  # a2 waits for a1, b1 does not
    await _finish(container, [d for d in claimed if d.webhook_id == a1])
    async with delivery_queue(container.session_factory) as queue:
        claimed = await queue.claim_due(
            datetime.now(UTC), 500, lease=timedelta(seconds=30), per_endpoint=500
        )
    assert {d.webhook_id for d in claimed} & mine == {a2}  # b1 is still leased
    assert created["id"]


async def an_endpoint_with_ten_due(
    container: ServiceContainer, client: httpx.AsyncClient
) -> tuple[UUID, set[str]]:
    """A new endpoint no request reaches, and the webhook ids of its ten due deliveries."""
    created = await endpoint(client, "http://127.0.0.1:9/never-sent")
    mine: set[str] = set()
    for _ in range(10):  # ten orders: ten deliveries that could all go at once
        mine.update(await record(container, uuid.uuid4()))
    return UUID(created["id"]), mine


async def test_an_endpoints_requests_in_flight_count_against_its_share_of_a_claim(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    endpoint_id, mine = await an_endpoint_with_ten_due(container, client)

    async def claimed_with(sending: int) -> set[str]:
        async with delivery_queue(container.session_factory) as queue:
            claimed = await queue.claim_due(
                datetime.now(UTC),
                500,
                lease=timedelta(milliseconds=1),  # lapsed by the next claim
                per_endpoint=4,
                in_flight={endpoint_id: sending},
            )
        # The module's earlier endpoints get the same events: only this one's count here.
        return {d.webhook_id for d in claimed if d.endpoint_id == endpoint_id} & mine

    # Two requests already out to it: two more, not four (it was six at once before).
    assert len(await claimed_with(2)) == 2
    assert await claimed_with(4) == set()  # its whole share out: none
    assert len(await claimed_with(0)) == 4


async def test_another_process_s_requests_in_flight_count_against_the_endpoint_s_share(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    endpoint_id, mine = await an_endpoint_with_ten_due(container, client)

    async def claimed_by_a_process(lease: timedelta) -> set[str]:
        # Each claim is another process's: nothing of its own in flight.
        async with delivery_queue(container.session_factory) as queue:
            claimed = await queue.claim_due(
                datetime.now(UTC), 500, lease=lease, per_endpoint=PER_ENDPOINT
            )
        return {d.webhook_id for d in claimed if d.endpoint_id == endpoint_id} & mine

    first = await claimed_by_a_process(timedelta(milliseconds=500))
    assert len(first) == PER_ENDPOINT
    # Its share is out in the first process's requests: a second process takes none of it.
    assert await claimed_by_a_process(timedelta(seconds=30)) == set()
    # Once those leases lapse (the process died), another takes a share again.
    await eventually(
        partial(_at_least, partial(claimed_by_a_process, timedelta(seconds=30)), 1),
        timeout=5,
        interval=0.1,
        what="a share claimed after the first process's leases lapsed",
    )


async def test_a_delivery_whose_worker_died_is_claimed_again_once_the_lease_lapses(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    receiver = Receiver()
    async with serving(receiver) as served:
        await endpoint(client, served.url)
        (event_id,) = await record(container, uuid.uuid4())
        # A worker claims it and dies before sending: nothing else may send it meanwhile.
        async with delivery_queue(container.session_factory) as queue:
            claimed = await queue.claim_due(
                datetime.now(UTC), 500, lease=timedelta(milliseconds=300), per_endpoint=500
            )
        assert event_id in {d.webhook_id for d in claimed}
        await worker.send_due()
        assert event_id not in {got.webhook_id for got in receiver.received}

        await send_until(
            worker,
            lambda: event_id in {got.webhook_id for got in receiver.received},
            "the delivery sent again after the lease",
        )


async def _at_least(probe: Any, n: int) -> bool:
    return len(await probe()) >= n


async def _status(container: ServiceContainer, endpoint_id: str, status: str) -> bool:
    return [d.status for d in await deliveries_to(container, endpoint_id)] == [status]


async def _finish(container: ServiceContainer, claimed: list[Any]) -> None:
    for delivery in claimed:
        await container.bus.handle(
            commands.RecordAttempt(delivery, datetime.now(UTC), Outcome(204, 1), 0.5)
        )


# The purge runs in every process of the service: two at once split the old deliveries between
# them, and neither waits for the rows the other holds.

OLD = datetime.now(UTC) - timedelta(days=60)  # past the worker's 30 days


async def add_deliveries(
    container: ServiceContainer, endpoint_id: str, n: int, *, status: str, made: datetime
) -> None:
    """`n` deliveries of the endpoint in that state, made then, each with one attempt."""
    rows = [
        {
            "id": uuid.uuid4(),
            "endpoint_id": UUID(endpoint_id),
            "webhook_id": str(uuid.uuid4()),
            "event_type": "oms.order.status_changed",
            "aggregate_key": str(uuid.uuid4()),
            "occurred_at": made,
            "payload": {},
            "status": status,
            "attempts": 1,
            "created_at": made,
        }
        for _ in range(n)
    ]
    async with container.session_factory.begin() as s:
        await s.execute(insert(webhook_delivery), rows)
        await s.execute(
            insert(webhook_delivery_attempt),
            [
                {"delivery_id": r["id"], "number": 1, "started_at": made, "latency_ms": 1}
                for r in rows
            ],
        )


async def states_of(container: ServiceContainer, endpoint_id: str) -> Counter[tuple[str, bool]]:
    """(status, made before the retention) of each of the endpoint's deliveries, counted."""
    return Counter(
        (d.status, d.created_at < OLD + timedelta(days=1))
        for d in await deliveries_to(container, endpoint_id)
    )


async def test_two_purges_at_once_delete_each_old_finished_delivery_once(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    await worker.purge()  # what earlier runs may have left: this test counts every purged row
    created = (await endpoint(client, "http://127.0.0.1:9/never-sent"))["id"]
    await add_deliveries(container, created, 700, status="delivered", made=OLD)
    await add_deliveries(container, created, 300, status="failed", made=OLD)
    await add_deliveries(container, created, 5, status="pending", made=OLD)
    await add_deliveries(container, created, 5, status="delivered", made=datetime.now(UTC))
    before = datetime.now(UTC) - timedelta(days=30)

    async def drain() -> list[int]:
        batches: list[int] = []
        while True:
            async with delivery_queue(container.session_factory) as queue:
                purged = await queue.purge(before, 50)
            if not purged:
                return batches
            batches.append(purged)

    first, second = await asyncio.gather(drain(), drain())

    assert sum(first + second) == 1000
    assert max(first + second) <= 50
    assert await states_of(container, created) == {("pending", True): 5, ("delivered", False): 5}
    async with container.session_factory() as s:
        orphans = await s.scalar(
            select(func.count())
            .select_from(webhook_delivery_attempt)
            .where(webhook_delivery_attempt.c.delivery_id.not_in(select(webhook_delivery.c.id)))
        )
    assert orphans == 0


async def test_deliveries_another_purge_holds_are_skipped_not_waited_for(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    created = (await endpoint(client, "http://127.0.0.1:9/never-sent"))["id"]
    await add_deliveries(container, created, 10, status="delivered", made=OLD)
    async with container.engine.connect() as holder:
        # Another process's purge in the middle of its transaction: it holds 4 of them.
        await holder.execute(
            select(webhook_delivery.c.seq)
            .where(webhook_delivery.c.endpoint_id == UUID(created))
            .order_by(webhook_delivery.c.seq)
            .limit(4)
            .with_for_update()
        )
        # A purge that waited for those locks would not come back while they are held.
        async with asyncio.timeout(10):
            await worker.purge()
        assert await states_of(container, created) == {("delivered", True): 4}
        await holder.rollback()

    await worker.purge()
    assert await states_of(container, created) == {}


async def test_recent_finished_deliveries_ahead_of_old_ones_do_not_end_the_purge(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    # Seq order is not always age order (a delivery replayed, rows of another test run): a
    # batch of recent done deliveries with the lowest seqs must not stop the purge short of
    # the old ones behind them.
    created = (await endpoint(client, "http://127.0.0.1:9/never-sent"))["id"]
    await add_deliveries(container, created, 1_200, status="delivered", made=datetime.now(UTC))
    await add_deliveries(container, created, 30, status="failed", made=OLD)

    await worker.purge()

    assert await states_of(container, created) == {("delivered", False): 1_200}
