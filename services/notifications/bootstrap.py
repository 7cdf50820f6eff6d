"""Composition root of notifications: the one place that picks concrete classes and wires
adapters into the service layer."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from libs.bootstrap import build_container
from libs.clock import SystemClock
from libs.runtime import ServiceContainer
from services.notifications.adapters.mail import SmtpEmailSender, SmtpSettings
from services.notifications.adapters.notification_repository import sending_queue
from services.notifications.adapters.repository import delivery_queue
from services.notifications.adapters.sms import SimulatedSmsSender
from services.notifications.adapters.tables import plumbing
from services.notifications.adapters.templating import (
    BRANDS_FILE,
    default_renderer,
    load_brand_book,
)
from services.notifications.adapters.unit_of_work import SqlUnitOfWork
from services.notifications.adapters.webhook_sender import HttpWebhookSender
from services.notifications.config import NotificationsSettings
from services.notifications.domain.notices import RetryPolicy
from services.notifications.domain.targets import TargetPolicy
from services.notifications.messaging import publications
from services.notifications.messaging.subscriptions import KNOWN_EVENT_TYPES, SUBSCRIPTIONS
from services.notifications.service_layer.handlers import BATCHABLE, handlers
from services.notifications.service_layer.handlers.deliveries import DeliveryWorker
from services.notifications.service_layer.handlers.endpoints import EndpointRules
from services.notifications.service_layer.handlers.sending import NotificationSender


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


def smtp_settings_of(settings: NotificationsSettings) -> SmtpSettings:
    return SmtpSettings(
        host=settings.SMTP_HOST,
        port=settings.SMTP_PORT,
        timeout_s=settings.SMTP_TIMEOUT_S,
        start_tls=settings.SMTP_START_TLS,
        use_tls=settings.SMTP_USE_TLS,
        username=settings.SMTP_USERNAME,
        password=settings.SMTP_PASSWORD,
        validate_certs=settings.SMTP_VALIDATE_CERTS,
    )


def bootstrap(settings: NotificationsSettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or NotificationsSettings()
    clock = overrides.pop("clock", None) or SystemClock()
    retry = settings.retry_policy
    container = build_container(
        settings=settings,
        tables=plumbing,
        uow_class=partial(NotificationsUnitOfWork, retry_window=retry.window),
        handlers=handlers(rules_of(settings), retry, settings.sms_kinds),
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
    # Customer e-mails and SMS: the sending job (the brands file is read now, so a broken one stops
    # the process at start, not at its first message).
    container.jobs.extend(
        job.run for job in notification_sender(settings, container).jobs(settings.SEND_INTERVAL_S)
    )
    return container


def notification_sender(
    settings: NotificationsSettings, container: ServiceContainer
) -> NotificationSender:
    return NotificationSender(
        queue=sending_queue(container.session_factory),
        renderer=default_renderer(),
        email=SmtpEmailSender(smtp_settings_of(settings), clock=container.clock),
        sms=SimulatedSmsSender(Path(settings.SMS_DIR), clock=container.clock),
        brands=load_brand_book(Path(settings.BRANDS_FILE) if settings.BRANDS_FILE else BRANDS_FILE),
        clock=container.clock,
        lease=timedelta(seconds=settings.SEND_LEASE_S),
        retries=RetryPolicy(
            first=timedelta(seconds=settings.SEND_RETRY_FIRST_S),
            longest=timedelta(seconds=settings.SEND_RETRY_LONGEST_S),
            max_attempts=settings.SEND_MAX_ATTEMPTS,
        ),
    )
