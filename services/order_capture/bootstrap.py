"""Composition root of order-capture: the one place that picks concrete classes."""

from __future__ import annotations

from dataclasses import fields
from functools import partial
from typing import Any

from libs.bootstrap import build_container
from services.order_capture.adapters.placements import OrderPlacements
from services.order_capture.adapters.tables import plumbing
from services.order_capture.adapters.unit_of_work import SqlAlchemyOrderCaptureUnitOfWork
from services.order_capture.config import OrderCaptureSettings
from services.order_capture.messaging import publications
from services.order_capture.messaging.subscriptions import SUBSCRIPTIONS
from services.order_capture.service_layer.handlers import BATCHABLE, HANDLERS
from services.order_capture.service_layer.handlers.placing import OrderCaptureContainer, Placing


def bootstrap(
    settings: OrderCaptureSettings | None = None, **overrides: Any
) -> OrderCaptureContainer:
    container = build_container(
        settings=settings or OrderCaptureSettings(),
        tables=plumbing,
        uow_class=partial(SqlAlchemyOrderCaptureUnitOfWork, translate=publications.translate),
        handlers=HANDLERS,
        subscriptions=SUBSCRIPTIONS,
        batchable=BATCHABLE,
        **overrides,
    )
    placing = Placing(
        placements=OrderPlacements(
            pool=container.raw_pool, outbox=container.outbox, idempotency=plumbing.idempotency
        ),
        translate=publications.translate,
        bus=container.bus,
        clock=container.clock,
    )
    common = {f.name: getattr(container, f.name) for f in fields(container)}
    return OrderCaptureContainer(**common, placing=placing)
