"""Composition root of notifications: the one place that picks concrete classes and wires
adapters into the service layer."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from libs.bootstrap import build_container
from libs.clock import SystemClock
from libs.runtime import ServiceContainer
from services.notifications.adapters.repository import delivery_queue
from services.notifications.adapters.tables import plumbing
from services.notifications.adapters.unit_of_work import SqlUnitOfWork
from services.notifications.adapters.webhook_sender import HttpWebhookSender
from services.notifications.config import NotificationsSettings
from services.notifications.domain.targets import TargetPolicy
from services.notifications.messaging import publications
from services.notifications.messaging.subscriptions import KNOWN_EVENT_TYPES, SUBSCRIPTIONS
from services.notifications.service_layer.handlers import BATCHABLE, handlers
from services.notifications.service_layer.handlers.deliveries import DeliveryWorker
from services.notifications.service_layer.handlers.endpoints import EndpointRules


class NotificationsUnitOfWork(SqlUnitOfWork):
    """The SQL unit of work, publishing each domain event as messaging.publications says."""

    translate = staticmethod(publications.translate)


def targets_of(settings: NotificationsSettings) -> TargetPolicy:
    return TargetPolicy(
        require_https=settings.require_https, allow_private=settings.allow_private_targets
    )


def rules_of(settings: NotificationsSettings) -> EndpointRules:
    return EndpointRules(
        targets_of(settings),
        KNOWN_EVENT_TYPES,
        timedelta(seconds=settings.SECRET_ROTATION_OVERLAP_S),
    )


def bootstrap(settings: NotificationsSettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or NotificationsSettings()
    clock = overrides.pop("clock", None) or SystemClock()
    retry = settings.retry_policy
    container = build_container(
        settings=settings,
        tables=plumbing,
        uow_class=partial(NotificationsUnitOfWork, retry_window=retry.window),
        handlers=handlers(rules_of(settings), retry),
        batchable=BATCHABLE,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
        **overrides,
    )
    worker = DeliveryWorker(
        bus=container.bus,
        queue=partial(delivery_queue, container.session_factory),
        sender=HttpWebhookSender(timeout_s=settings.WEBHOOK_TIMEOUT_S, policy=targets_of(settings)),
        clock=clock,
        lease=timedelta(seconds=settings.DELIVERY_LEASE_S),
        retention=timedelta(seconds=settings.DELIVERY_RETENTION_S),
    )
    container.jobs.extend(job.run for job in worker.jobs(settings.DELIVERY_INTERVAL_S))
    return container
