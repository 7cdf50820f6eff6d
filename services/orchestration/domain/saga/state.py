"""The saga's states and policy, and what it keeps: held units, the reservation, the payment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal("0")


class SagaState(StrEnum):
    ROUTING = "routing"  # the worker plans (again) at due_at, with fresh availability
    # No location can serve it: planned again when stock that could serve it changes, a
    # location becomes active or the strategy changes, and at least every waiting_recheck;
    # held `unroutable` once waiting_max has passed.
    WAITING_FOR_STOCK = "waiting_for_stock"
    RESERVING = "reserving"  # a reserve command is out; inventory's answer is awaited
    BACKORDERED = "backordered"  # reserved, but some units wait for incoming stock
    AUTHORIZING = "authorizing"  # the payment authorisation is queued
    FULFILLING = "fulfilling"  # fulfilment orders are out; following them to delivery
    COMPLETED = "completed"
    # Stopped before fulfilment, its stock released, until a person (or, for some reasons,
    # the event that resolves it) releases it: then it is planned again from where it stands.
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"  # compensated: every unit cancelled, stock released, money voided


# Nothing moves these on by itself: an end (completed, cancelled), or a hold waiting for its
# release (POST /v1/orders/{id}/release).
FINISHED = frozenset({SagaState.COMPLETED, SagaState.ON_HOLD, SagaState.CANCELLED})


class HoldReason(StrEnum):
    """Why an order is held: each has its way out (HOLD_WAYS_OUT)."""

    UNROUTABLE = "unroutable"  # no location can serve it, or none would reserve it
    PAYMENT_DECLINED = "payment_declined"
    REVIEW = "review"  # a review rule matched: approve or reject
    MANUAL = "manual"  # a person held it (POST /v1/orders/{id}/hold)
    # The incoming stock it waited for will not come, and nothing else served it in time.
    BACKORDER_LAPSED = "backorder_lapsed"


# What releases a hold of each reason, as GET /v1/holds tells it.
HOLD_WAYS_OUT: dict[HoldReason, tuple[str, ...]] = {
    HoldReason.UNROUTABLE: (
        "release (POST /v1/orders/{id}/release) once stock or a location can serve it: the "
        "order is routed again",
    ),
    HoldReason.PAYMENT_DECLINED: (
        "a new payment method (POST /v1/orders/{id}/payment) before the hold's deadline: the "
        "order is reserved and authorised again; without one it is cancelled",
        "release (POST /v1/orders/{id}/release): the same payment is authorised again",
    ),
    HoldReason.REVIEW: ("release (POST /v1/orders/{id}/release) after the review",),
    HoldReason.MANUAL: ("release (POST /v1/orders/{id}/release)",),
    HoldReason.BACKORDER_LAPSED: (
        "release (POST /v1/orders/{id}/release): the order is routed again",
    ),
}


@dataclass(frozen=True)
class Hold:
    """The hold an order is in: its id (the events name it), why, and since when."""

    id: str
    reason: HoldReason
    detail: str
    since: datetime


class DeclinePolicy(StrEnum):
    ON_HOLD = "on_hold"
    CANCEL = "cancel"


@dataclass(frozen=True)
class SagaPolicy:
    on_decline: DeclinePolicy = DeclinePolicy.ON_HOLD
    max_replans: int = 3  # rejected reservations in a row before the order goes on hold
    payment_attempts: int = 8  # provider timeouts before an operation counts as failed
    # How long a wait may last before the saga stops waiting and compensates.
    reservation_timeout: timedelta = timedelta(minutes=5)  # for inventory's answer
    acceptance_timeout: timedelta = timedelta(hours=24)  # for a location to accept
    waiting_recheck: timedelta = timedelta(minutes=1)  # a waiting order is planned again
    waiting_max: timedelta = timedelta(hours=72)  # then it is held `unroutable`
    # How long an order held for a declined payment waits for a new payment method before
    # it is cancelled.
    payment_recovery: timedelta = timedelta(hours=72)


@dataclass(frozen=True)
class SagaStep:
    name: str
    at: datetime
    detail: str


@dataclass
class Held:
    """Units a confirmed reservation holds for the order, not yet given to a fulfilment."""

    reservation_id: str
    location_code: str
    line_id: str
    sku: str
    quantity: int
    backordered: int = 0
    # How far the location is from the customer: the carrier selector prices the parcel by it.
    distance_km: float | None = None
    domestic: bool = True
    expected_at: datetime | None = None  # when its backordered units are expected
    # The location's dispatch calendar (promise.DispatchCalendar), from routing: what its
    # units' dispatch was promised by, and is promised by again when it is late.
    timezone: str = "UTC"
    cutoff: time | None = None
    processing_days: int = 0


def backorder_key(reservation_id: str, location_code: str) -> str:
    """The dispatch promise of a reservation's backordered units at one location."""
    return f"backorder:{reservation_id}:{location_code}"


def expected_at(units: Sequence[Held]) -> datetime | None:
    """When the last of these backordered units' stock is expected (None: no date known)."""
    return max((h.expected_at for h in units if h.expected_at is not None), default=None)


@dataclass
class DispatchPromise:
    """Units that were promised to leave a location by `due` (the end of their ship date):
    a fulfilment order's (key: its id), or a backorder's (key: backorder:<reservation>:<code>,
    from the date its stock is expected). Past due and still there: the order is delayed."""

    key: str
    location_code: str
    due: datetime
    lines: dict[str, int]  # line id -> units
    timezone: str = "UTC"
    cutoff: time | None = None
    processing_days: int = 0


@dataclass
class InFlight:
    """The reservation asked of inventory and not yet answered."""

    reservation_id: str
    decision_id: str
    lines: list[Held]  # what was asked for, by location


@dataclass
class Payment:
    authorized: Decimal = ZERO
    authorization: str | None = None
    status: str = "none"  # none | pending | authorized | declined
    capture_queued: Decimal = ZERO
    captured: Decimal = ZERO
    voided: Decimal = ZERO
    refund_queued: Decimal = ZERO
    refunded: Decimal = ZERO
    operations: int = 0  # queued so far; names the next one
    pending: int = 0  # queued and not answered yet
    refund_ids: list[str] = field(default_factory=list)
