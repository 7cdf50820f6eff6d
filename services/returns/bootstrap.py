"""Composition root of returns: the one place that picks concrete classes and wires adapters
into the service layer."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from libs.auth.scopes import Scope
from libs.auth.service_tokens import ServiceTokens
from libs.auth.settings import AuthSettings
from libs.bootstrap import build_container
from libs.clock import SystemClock
from libs.runtime import ServiceContainer
from services.returns.adapters.order_capture import OrderCaptureClient
from services.returns.adapters.tables import plumbing
from services.returns.adapters.unit_of_work import SqlUnitOfWork
from services.returns.config import ReturnsSettings
from services.returns.messaging import publications
from services.returns.messaging.subscriptions import SUBSCRIPTIONS
from services.returns.service_layer.handlers import BATCHABLE, HANDLERS
from services.returns.service_layer.handlers.exchanges import ExchangePlacer
from services.returns.service_layer.unit_of_work import UnitOfWork


def bootstrap(settings: ReturnsSettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or ReturnsSettings()
    clock = overrides.pop("clock", None) or SystemClock()
    uow_class = partial(SqlUnitOfWork, translate=publications.translate)
    container = build_container(
        settings=settings,
        tables=plumbing,
        uow_class=uow_class,
        handlers=HANDLERS,
        batchable=BATCHABLE,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
        **overrides,
    )

    def unit_of_work() -> UnitOfWork:
        """As the bus makes them (libs.bootstrap), for the exchange worker's own reads and
        claims."""
        return uow_class(
            session_factory=container.session_factory,
            outbox=container.outbox,
            idempotency_table=plumbing.idempotency,
            clock=clock,
        )

    placer = ExchangePlacer(
        bus=container.bus,
        unit_of_work=unit_of_work,
        orders=OrderCaptureClient(
            url=settings.ORDER_CAPTURE_URL,
            credentials=ServiceTokens(
                AuthSettings(), client_id="returns", scopes=[Scope.ORDERS_WRITE]
            ).headers,
            timeout_s=settings.ORDER_CAPTURE_TIMEOUT_S,
        ),
        clock=clock,
        lease=timedelta(seconds=settings.WORKER_LEASE_S),
    )
    container.jobs.extend(job.run for job in placer.jobs(settings.WORKER_INTERVAL_S))
    return container
