"""Inventory's background jobs: each finds due work in the database and runs it through the
bus, one message (one transaction) per item, so a crash loses nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bus.message_bus import MessageBus
from libs.clock import Clock
from libs.jobs import PeriodicJob
from services.inventory.adapters import queries
from services.inventory.domain.commands import ExpireReservation

EXPIRY_BATCH = 100


def expire_holds_job(
    *,
    bus: MessageBus,
    session_factory: async_sessionmaker[AsyncSession],
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
        async with session_factory() as session:
            due = await queries.expired_holds(session, clock.now(), limit=EXPIRY_BATCH)
        for reservation_id in due:
            await bus.handle(ExpireReservation(reservation_id=reservation_id))
        return len(due)

    return PeriodicJob(name="expire-holds", interval_s=interval_s, run_once=run_once)
