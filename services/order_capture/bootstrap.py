"""Composition root of order-capture: the one place that picks concrete classes."""

from __future__ import annotations

from typing import Any

from libs.bootstrap import build_container
from libs.runtime import ServiceContainer
from services.order_capture.adapters.tables import plumbing
from services.order_capture.config import OrderCaptureSettings
from services.order_capture.messaging.subscriptions import SUBSCRIPTIONS
from services.order_capture.service_layer.handlers import BATCHABLE, HANDLERS
from services.order_capture.service_layer.unit_of_work import OrderCaptureUnitOfWork


def bootstrap(settings: OrderCaptureSettings | None = None, **overrides: Any) -> ServiceContainer:
    return build_container(
        settings=settings or OrderCaptureSettings(),
        tables=plumbing,
        uow_class=OrderCaptureUnitOfWork,
        handlers=HANDLERS,
        subscriptions=SUBSCRIPTIONS,
        batchable=BATCHABLE,
        **overrides,
    )
