"""Composition root of inventory: the one place that picks concrete classes."""

from __future__ import annotations

from typing import Any

from libs.bootstrap import build_container
from libs.clock import SystemClock
from libs.outbox.writer import OutboxWriter
from libs.runtime import ServiceContainer
from services.inventory.adapters.tables import plumbing
from services.inventory.config import InventorySettings
from services.inventory.domain.commands import ReserveStock
from services.inventory.messaging.subscriptions import SUBSCRIPTIONS
from services.inventory.service_layer.handlers import HANDLERS
from services.inventory.service_layer.handlers.import_apply import apply_imports_job
from services.inventory.service_layer.handlers.imports import import_handlers
from services.inventory.service_layer.handlers.jobs import expire_holds_job
from services.inventory.service_layer.unit_of_work import InventoryUnitOfWork


def bootstrap(settings: InventorySettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or InventorySettings()
    clock = overrides.pop("clock", None) or SystemClock()
    # Applying an import writes its events in pages with a writer of its own (same table).
    outbox = OutboxWriter(table=plumbing.outbox, service=settings.deploy_name, clock=clock)
    container = build_container(
        settings=settings,
        tables=plumbing,
        uow_class=InventoryUnitOfWork,
        handlers={**HANDLERS, **import_handlers(outbox=outbox)},
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
        apply_imports_job(
            bus=container.bus,
            session_factory=container.session_factory,
            interval_s=settings.IMPORT_POLL_INTERVAL_S,
        ).run
    )
    return container
