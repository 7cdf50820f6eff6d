"""Composition root of returns: the one place that picks concrete classes."""

from __future__ import annotations

from typing import Any

from libs.bootstrap import build_container
from libs.runtime import ServiceContainer
from services.returns.adapters.tables import plumbing
from services.returns.config import ReturnsSettings
from services.returns.messaging.subscriptions import SUBSCRIPTIONS
from services.returns.service_layer.handlers import HANDLERS
from services.returns.service_layer.unit_of_work import ReturnsUnitOfWork


def bootstrap(settings: ReturnsSettings | None = None, **overrides: Any) -> ServiceContainer:
    return build_container(
        settings=settings or ReturnsSettings(),
        tables=plumbing,
        uow_class=ReturnsUnitOfWork,
        handlers=HANDLERS,
        subscriptions=SUBSCRIPTIONS,
        **overrides,
    )
