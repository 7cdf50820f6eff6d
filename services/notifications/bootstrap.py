"""Composition root of notifications: the one place that picks concrete classes and wires
adapters into the service layer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from libs.bootstrap import build_container
from libs.clock import SystemClock
from libs.runtime import ServiceContainer
from services.notifications.adapters.tables import plumbing
from services.notifications.adapters.unit_of_work import SqlUnitOfWork
from services.notifications.config import NotificationsSettings
from services.notifications.domain.targets import TargetPolicy
from services.notifications.messaging import publications
from services.notifications.messaging.subscriptions import KNOWN_EVENT_TYPES, SUBSCRIPTIONS
from services.notifications.service_layer.handlers import BATCHABLE, handlers
from services.notifications.service_layer.handlers.endpoints import EndpointRules


class NotificationsUnitOfWork(SqlUnitOfWork):
    """The SQL unit of work, publishing each domain event as messaging.publications says."""

    translate = staticmethod(publications.translate)


def rules_of(settings: NotificationsSettings) -> EndpointRules:
    return EndpointRules(
        TargetPolicy(
            require_https=settings.require_https, allow_private=settings.allow_private_targets
        ),
        KNOWN_EVENT_TYPES,
        timedelta(seconds=settings.SECRET_ROTATION_OVERLAP_S),
    )


def bootstrap(settings: NotificationsSettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or NotificationsSettings()
    clock = overrides.pop("clock", None) or SystemClock()
    return build_container(
        settings=settings,
        tables=plumbing,
        uow_class=NotificationsUnitOfWork,
        handlers=handlers(rules_of(settings)),
        batchable=BATCHABLE,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
        **overrides,
    )
