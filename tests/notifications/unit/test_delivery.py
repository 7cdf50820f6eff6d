"""Sending webhooks, the rules: backoff with full jitter inside the retry window, what an
answer means, and the endpoint's health as the attempts' handler records it (on fakes)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from services.notifications.domain import commands
from services.notifications.domain.delivery import (
    DeliveryStatus,
    DueDelivery,
    Outcome,
    RetryPolicy,
    judge,
)
from services.notifications.domain.endpoints import EndpointStatus
from services.notifications.domain.events import WebhookEndpointDisabled
from tests.notifications.unit.test_handlers import NOW, Service

POLICY = RetryPolicy(
    window=timedelta(days=3),
    first=timedelta(seconds=5),
    cap=timedelta(hours=1),
    floor=timedelta(seconds=1),
    disable_after=timedelta(days=5),
)
OK = Outcome(204, 12)
DOWN = Outcome(None, 5000, "no answer within 5 s")


def due(endpoint_id: uuid.UUID, *, attempts: int = 0, made: datetime = NOW) -> DueDelivery:
    return DueDelivery(
        id=uuid.uuid4(),
        endpoint_id=endpoint_id,
        url="https://hooks.example.com/oms",
        webhook_id=str(uuid.uuid4()),
        payload=b"{}",
        secrets=("whsec_x",),
        attempts=attempts,
        created_at=made,
        expires_at=made + POLICY.window,
    )


@pytest.mark.unit
@pytest.mark.parametrize("attempts", [1, 2, 3, 5, 8, 12, 20])
@pytest.mark.parametrize("jitter", [0.0, 0.37, 0.999])
def test_the_wait_is_a_random_share_of_a_doubling_ceiling_capped_and_floored(
    attempts: int, jitter: float
) -> None:
    at = POLICY.next_attempt(attempts, NOW, NOW + timedelta(days=3), jitter)

    assert at is not None
    ceiling = min(POLICY.cap, POLICY.first * 2 ** (attempts - 1))
    assert at - NOW == max(POLICY.floor, ceiling * jitter)
    assert POLICY.floor <= at - NOW <= POLICY.cap


@pytest.mark.unit
@pytest.mark.parametrize("attempts", [40, 64, 200, 10_000])
def test_after_many_attempts_the_wait_stays_at_the_cap(attempts: int) -> None:
    """2^attempts seconds would overflow a timedelta: the doubling stops at the cap."""
    at = POLICY.next_attempt(attempts, NOW, NOW + timedelta(days=3), 0.5)

    assert at == NOW + POLICY.cap * 0.5


@pytest.mark.unit
def test_no_attempt_is_planned_past_the_window() -> None:
    expires = NOW + timedelta(seconds=30)

    assert POLICY.next_attempt(10, NOW, expires, 0.999) is None  # would be up to 42 min
    assert POLICY.next_attempt(1, NOW, expires, 0.5) == NOW + timedelta(seconds=2.5)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("outcome", "delivered"),
    [
        (Outcome(200, 5), True),
        (Outcome(204, 5), True),
        (Outcome(299, 5), True),
        (Outcome(301, 5, "answered 301: redirects are not followed"), False),
        (Outcome(404, 5), False),
        (Outcome(500, 5), False),
        (Outcome(None, 5000, "no answer"), False),
    ],
)
def test_only_a_2xx_answer_delivers(outcome: Outcome, delivered: bool) -> None:
    verdict = judge(due(uuid.uuid4()), outcome, NOW, POLICY, 0.5)

    assert (verdict.status is DeliveryStatus.DELIVERED) is delivered
    if not delivered:
        assert verdict.status is DeliveryStatus.PENDING and verdict.next_attempt_at is not None


@pytest.mark.unit
def test_a_failure_after_the_window_fails_the_delivery_for_good() -> None:
    delivery = due(uuid.uuid4(), attempts=30, made=NOW - timedelta(days=3))

    verdict = judge(delivery, DOWN, NOW, POLICY, 0.5)

    assert (verdict.status, verdict.next_attempt_at) == (DeliveryStatus.FAILED, None)


# --- the attempts' handler, on fakes -------------------------------------------------------


async def attempt(s: Service, delivery: DueDelivery, outcome: Outcome) -> None:
    await s.handle(commands.RecordAttempt(delivery, s.clock.now(), outcome, 0.5))


@pytest.mark.unit
async def test_each_attempt_is_in_the_ledger_with_its_number() -> None:
    s = Service()
    endpoint_id = await s.create()
    delivery = due(endpoint_id)

    await attempt(s, delivery, DOWN)
    await attempt(s, due(endpoint_id, attempts=1), OK)

    assert [(n, o) for _, n, o, _ in s.db.attempts] == [(1, DOWN), (2, OK)]
    assert [v.status for *_, v in s.db.attempts] == [
        DeliveryStatus.PENDING,
        DeliveryStatus.DELIVERED,
    ]


@pytest.mark.unit
async def test_a_failed_attempt_starts_the_failing_clock_and_a_success_stops_it() -> None:
    s = Service()
    endpoint_id = await s.create()

    await attempt(s, due(endpoint_id), DOWN)
    assert s.db.endpoints[endpoint_id].failing_since == NOW
    assert s.db.endpoints[endpoint_id].status is EndpointStatus.ACTIVE  # retries go on

    s.clock.at = NOW + timedelta(hours=1)
    await attempt(s, due(endpoint_id), DOWN)
    assert s.db.endpoints[endpoint_id].failing_since == NOW  # from the first, not the last

    await attempt(s, due(endpoint_id), OK)
    assert s.db.endpoints[endpoint_id].failing_since is None


@pytest.mark.unit
async def test_a_delivery_out_of_retries_marks_the_endpoint_failing_until_one_gets_through() -> (
    None
):
    s = Service()
    endpoint_id = await s.create()
    s.clock.at = NOW + timedelta(days=3, seconds=1)

    await attempt(s, due(endpoint_id, attempts=25), DOWN)

    assert s.db.endpoints[endpoint_id].status is EndpointStatus.FAILING
    assert s.db.outbox == []

    await attempt(s, due(endpoint_id, made=s.clock.now()), OK)
    assert s.db.endpoints[endpoint_id].status is EndpointStatus.ACTIVE


@pytest.mark.unit
async def test_an_endpoint_failing_past_the_setting_is_disabled_and_an_event_says_so() -> None:
    s = Service()
    endpoint_id = await s.create()
    await attempt(s, due(endpoint_id), DOWN)  # failing since NOW

    s.clock.at = NOW + timedelta(days=5) - timedelta(seconds=1)
    await attempt(s, due(endpoint_id, made=s.clock.now()), DOWN)
    assert s.db.endpoints[endpoint_id].status is not EndpointStatus.DISABLED

    s.clock.at = NOW + timedelta(days=5)
    await attempt(s, due(endpoint_id, made=s.clock.now()), DOWN)

    endpoint = s.db.endpoints[endpoint_id]
    assert endpoint.status is EndpointStatus.DISABLED and not endpoint.receiving
    (disabled,) = s.db.outbox
    assert isinstance(disabled, WebhookEndpointDisabled)
    assert disabled.endpoint_id == endpoint_id and "failed since" in disabled.reason
