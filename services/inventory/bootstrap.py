"""Composition root of inventory: the one place that picks concrete classes."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.bootstrap import build_container
from libs.bus.message_bus import MessageBus
from libs.clock import Clock, SystemClock
from libs.jobs import PeriodicJob
from libs.outbox.writer import OutboxWriter
from libs.runtime import ServiceContainer
from services.inventory.adapters import queries
from services.inventory.adapters.imports import ImportRepository
from services.inventory.adapters.tables import plumbing
from services.inventory.adapters.unit_of_work import SqlAlchemyInventoryUnitOfWork
from services.inventory.config import InventorySettings
from services.inventory.domain.commands import ReserveStock
from services.inventory.messaging import publications
from services.inventory.messaging.subscriptions import SUBSCRIPTIONS
from services.inventory.service_layer.handlers import HANDLERS, import_apply, jobs
from services.inventory.service_layer.handlers.imports import IMPORT_HANDLERS


def bootstrap(settings: InventorySettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or InventorySettings()
    clock = overrides.pop("clock", None) or SystemClock()
    # Applying an import writes its events in pages with a writer of its own (same table).
    bulk_outbox = OutboxWriter(table=plumbing.outbox, service=settings.deploy_name, clock=clock)
    container = build_container(
        settings=settings,
        tables=plumbing,
        uow_class=partial(
            SqlAlchemyInventoryUnitOfWork,
            translate=publications.translate,
            bulk_outbox=bulk_outbox,
        ),
        handlers={**HANDLERS, **IMPORT_HANDLERS},
        subscriptions=SUBSCRIPTIONS,
        # A batch of orchestration's reservations shares one transaction (see ReserveStock).
        batchable={ReserveStock},
        clock=clock,
        **overrides,
    )
    container.jobs.append(
        expire_holds_job(
            bus=container.bus,
            session_factory=container.session_factory,
            clock=clock,
            interval_s=settings.EXPIRY_INTERVAL_S,
        ).run
    )
    container.jobs.append(
        import_apply.apply_imports_job(
            bus=container.bus,
            pending=pending_imports(container.session_factory),
            interval_s=settings.IMPORT_POLL_INTERVAL_S,
        ).run
    )
    return container


def expire_holds_job(
    *,
    bus: MessageBus,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    interval_s: float,
) -> PeriodicJob:
    """The expiry job, finding the expired holds with a session of its own."""

    async def expired_holds(now: datetime, limit: int) -> list[UUID]:
        async with session_factory() as session:
            return await queries.expired_holds(session, now, limit=limit)

    return jobs.expire_holds_job(
        bus=bus, expired_holds=expired_holds, clock=clock, interval_s=interval_s
    )


def pending_imports(
    session_factory: async_sessionmaker[AsyncSession],
) -> import_apply.PendingImports:
    async def pending(limit: int) -> list[UUID]:
        async with session_factory() as session:
            return await ImportRepository(session).pending(limit=limit)

    return pending


async def apply_next_import(
    *, bus: MessageBus, session_factory: async_sessionmaker[AsyncSession]
) -> int:
    """One pass of the apply job (see import_apply.apply_next_import)."""
    return await import_apply.apply_next_import(bus=bus, pending=pending_imports(session_factory))
