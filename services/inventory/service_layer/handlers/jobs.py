"""Inventory's background jobs: each finds due work in the database and runs it through the
bus, one message (one transaction) per item, so a crash loses nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

from libs.bus.message_bus import MessageBus
from libs.clock import Clock
from libs.jobs import PeriodicJob
from services.inventory.domain.commands import ExpireReservation

EXPIRY_BATCH = 100

# The temporary holds expired by `now`, soonest expired first, at most `limit` of them: read
# outside any unit of work (bootstrap wires the query).
ExpiredHolds = Callable[[datetime, int], Awaitable[list[UUID]]]


def expire_holds_job(
    *,
    bus: MessageBus,
    expired_holds: ExpiredHolds,
    clock: Clock,
    interval_s: float,
) -> PeriodicJob:
    # Safe to run in every process of the service without a claim: it calls nothing outside,
    # and each expiry re-reads its reservation under the stock rows' and its own row lock and
    # does nothing if it is no longer a held, expired hold. Two processes that pick the same
    # hold release it once; the second finds it released. A claim would save that re-read
    # only, and would have to lock the reservation before its stock rows, against the one
    # lock order every writer keeps.
    async def run_once() -> int:
        due = await expired_holds(clock.now(), EXPIRY_BATCH)
        for reservation_id in due:
            await bus.handle(ExpireReservation(reservation_id=reservation_id))
        return len(due)

    return PeriodicJob(name="expire-holds", interval_s=interval_s, run_once=run_once)
