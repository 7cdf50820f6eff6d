"""Composition root of insights: the one place that picks concrete classes and wires adapters
into the service layer."""

from __future__ import annotations

from typing import Any

from libs.bootstrap import build_container
from libs.clock import SystemClock
from libs.runtime import ServiceContainer
from services.insights.adapters.tables import plumbing
from services.insights.adapters.unit_of_work import SqlUnitOfWork
from services.insights.config import InsightsSettings
from services.insights.messaging import publications
from services.insights.messaging.subscriptions import SUBSCRIPTIONS
from services.insights.service_layer.handlers import BATCHABLE, handlers


class InsightsUnitOfWork(SqlUnitOfWork):
    """The SQL unit of work, publishing each domain event as messaging.publications says."""

    translate = staticmethod(publications.translate)


def bootstrap(settings: InsightsSettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or InsightsSettings()
    clock = overrides.pop("clock", None) or SystemClock()
    return build_container(
        settings=settings,
        tables=plumbing,
        uow_class=InsightsUnitOfWork,
        handlers=handlers(),
        batchable=BATCHABLE,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
        **overrides,
    )
