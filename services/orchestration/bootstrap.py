"""Composition root of orchestration: the one place that picks concrete classes."""

from __future__ import annotations

from typing import Any

from libs.bootstrap import build_container
from libs.runtime import ServiceContainer
from services.orchestration.adapters.tables import plumbing
from services.orchestration.config import OrchestrationSettings
from services.orchestration.messaging.subscriptions import SUBSCRIPTIONS
from services.orchestration.service_layer.handlers import HANDLERS
from services.orchestration.service_layer.unit_of_work import OrchestrationUnitOfWork


def bootstrap(settings: OrchestrationSettings | None = None, **overrides: Any) -> ServiceContainer:
    return build_container(
        settings=settings or OrchestrationSettings(),
        tables=plumbing,
        uow_class=OrchestrationUnitOfWork,
        handlers=HANDLERS,
        subscriptions=SUBSCRIPTIONS,
        **overrides,
    )
