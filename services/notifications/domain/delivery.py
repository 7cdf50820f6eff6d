"""Sending a webhook delivery: when to try again, when to give up, and what an attempt's
answer means. Plain rules; the worker (service_layer/handlers/deliveries.py) applies them.

- A delivery is sent until it is answered 2xx. Any other answer, a redirect (never
  followed), no answer within the timeout or a refused target is a failed attempt.
- After a failed attempt the next waits an exponential backoff with full jitter: a random time
  between zero and `first * 2^(attempts - 1)`, capped at `cap` (so many endpoints failing at
  once do not come back in step). At least `floor`, so a receiver is never hammered.
- A delivery is retried for `window` after it was made (3 days by default); an attempt that
  fails after that, or whose next try would fall after it, fails the delivery for good, and
  the endpoint is failing from then until a delivery to it succeeds.
- An endpoint failing for longer than `disable_after` is disabled (and an event says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

# What the ledger keeps of a receiver's answer.
EXCERPT_CHARS = 1024


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # out of retries


@dataclass(frozen=True)
class RetryPolicy:
    window: timedelta = timedelta(days=3)
    first: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)
    floor: timedelta = timedelta(seconds=1)
    disable_after: timedelta = timedelta(days=5)

    def next_attempt(
        self, attempts: int, now: datetime, expires_at: datetime, jitter: float
    ) -> datetime | None:
        """When to try again after `attempts` failed ones (None: give up). `jitter` is a
        random number in [0, 1)."""
        # Doubling stops at the cap: 2^n itself would overflow a timedelta after a few dozen
        # attempts, and a short cap (or a long window) makes that many.
        doublings = max(attempts - 1, 0)
        ceiling = self.cap
        if doublings < 30 and self.first * 2**doublings < self.cap:
            ceiling = self.first * 2**doublings
        wait = max(self.floor, ceiling * jitter)
        at = now + wait
        return at if at <= expires_at else None


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the status code (None: no answer), the time it took, what went
    wrong, and the start of the answer's body."""

    status_code: int | None
    latency_ms: int
    error: str | None = None
    excerpt: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def failed_answer(status_code: int) -> str:
    """Why an answer that is not 2xx failed the attempt."""
    if 300 <= status_code < 400:
        return f"answered {status_code}: redirects are not followed"
    return f"answered {status_code}"


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for sending: everything the request needs."""

    id: UUID
    endpoint_id: UUID
    url: str
    webhook_id: str
    payload: bytes  # the body exactly as signed and sent
    secrets: tuple[str, ...]  # every secret valid now: one signature each
    attempts: int  # made before this one
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Verdict:
    """What the worker records after an attempt."""

    status: DeliveryStatus
    next_attempt_at: datetime | None
    endpoint_failing: bool | None  # True: it starts (or keeps) failing; False: it recovered


def judge(
    delivery: DueDelivery, outcome: Outcome, now: datetime, policy: RetryPolicy, jitter: float
) -> Verdict:
    if outcome.delivered:
        return Verdict(DeliveryStatus.DELIVERED, None, endpoint_failing=False)
    attempts = delivery.attempts + 1
    at = policy.next_attempt(attempts, now, delivery.expires_at, jitter)
    if at is None:
        return Verdict(DeliveryStatus.FAILED, None, endpoint_failing=True)
    return Verdict(DeliveryStatus.PENDING, at, endpoint_failing=None)


def failing_too_long(failing_since: datetime | None, now: datetime, policy: RetryPolicy) -> bool:
    return failing_since is not None and now - failing_since >= policy.disable_after
