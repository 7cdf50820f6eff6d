"""Composition root of orchestration: the one place that picks concrete classes."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from libs.bootstrap import build_container
from libs.clock import SystemClock
from libs.jobs import Wakeup
from libs.runtime import ServiceContainer
from services.orchestration.adapters.address_check import FormatAddressCheck
from services.orchestration.adapters.repository import saga_queues
from services.orchestration.adapters.simulated_fraud import SimulatedFraudCheck
from services.orchestration.adapters.simulated_payments import SimulatedPaymentProvider
from services.orchestration.adapters.tables import plumbing
from services.orchestration.adapters.unit_of_work import PostgresUnitOfWork
from services.orchestration.config import OrchestrationSettings
from services.orchestration.domain.saga import SagaPolicy
from services.orchestration.messaging import publications
from services.orchestration.messaging.subscriptions import SUBSCRIPTIONS
from services.orchestration.service_layer.handlers import BATCHABLE, build_handlers
from services.orchestration.service_layer.handlers.faults import CrashPoints
from services.orchestration.service_layer.handlers.worker import SagaWorker


def bootstrap(settings: OrchestrationSettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or OrchestrationSettings()
    clock = overrides.pop("clock", None) or SystemClock()

    saga_policy = SagaPolicy(
        on_decline=settings.PAYMENT_DECLINED_POLICY,
        max_replans=settings.MAX_REPLANS,
        payment_attempts=settings.PAYMENT_ATTEMPTS,
        reservation_timeout=timedelta(seconds=settings.RESERVATION_TIMEOUT_S),
        acceptance_timeout=timedelta(seconds=settings.ACCEPTANCE_TIMEOUT_S),
        waiting_recheck=timedelta(seconds=settings.WAITING_RECHECK_S),
        waiting_max=timedelta(seconds=settings.WAITING_MAX_S),
        payment_recovery=timedelta(seconds=settings.PAYMENT_RECOVERY_S),
    )
    armed = CrashPoints.parse(settings.CRASH_POINTS, settings.CRASH_MARKER_DIR)
    wakeup = Wakeup()
    grace = timedelta(seconds=settings.ROUTING_GRACE_S)

    container = build_container(
        settings=settings,
        tables=plumbing,
        uow_class=partial(
            PostgresUnitOfWork,
            translate=publications.translate,
            policy=saga_policy,
            routing_grace=grace,
            fraud_check=SimulatedFraudCheck(),
            address_check=FormatAddressCheck(),
            crash_points=armed,
            worker_wakeup=wakeup,
        ),
        handlers=build_handlers(),
        subscriptions=SUBSCRIPTIONS,
        batchable=BATCHABLE,
        clock=clock,
        **overrides,
    )
    worker = SagaWorker(
        bus=container.bus,
        queues=partial(saga_queues, container.session_factory),
        provider=SimulatedPaymentProvider(container.session_factory, container.raw_pool, clock),
        clock=clock,
        lease=timedelta(seconds=settings.WORKER_LEASE_S),
        wakeup=wakeup,
    )
    container.jobs.extend(job.run for job in worker.jobs(settings.WORKER_INTERVAL_S))
    return container
