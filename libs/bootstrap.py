"""Wiring shared by every service's bootstrap: engine, unit of work, bus, relay, consumer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Table

from libs.auth.settings import AuthSettings
from libs.bus.message_bus import Handler, MessageBus
from libs.clock import Clock, SystemClock
from libs.config import ServiceSettings
from libs.db.engine import asyncpg_dsn, make_engine, make_session_factory
from libs.db.pool import RawPool
from libs.db.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkClass
from libs.http.auth import AccessControl
from libs.http.rate_limit import RateLimiter
from libs.messaging.consumer import InboxConsumer, Subscriptions
from libs.messaging.kafka import make_consumer, make_producer
from libs.messaging.topics import TopicNamer
from libs.outbox.relay import OutboxRelay
from libs.outbox.retention import Retention, RetentionPolicy
from libs.outbox.writer import OutboxWriter
from libs.runtime import ServiceContainer


@dataclass(frozen=True)
class PlumbingTables:
    outbox: Table
    inbox: Table
    idempotency: Table
    audit: Table


def build_container(
    *,
    settings: ServiceSettings,
    tables: PlumbingTables,
    uow_class: UnitOfWorkClass,
    handlers: Mapping[type, Handler],
    subscriptions: Subscriptions | None,
    batchable: Collection[type] = (),
    clock: Clock | None = None,
    relay_class: type[OutboxRelay] = OutboxRelay,
    auth: AuthSettings | None = None,
) -> ServiceContainer:
    """`uow_class` makes the bus's units of work from the plumbing built here; a service
    binds its own arguments first: `partial(ServiceUnitOfWork, translate=publications.translate)`
    (see libs.db.unit_of_work.UnitOfWorkClass)."""
    clock = clock or SystemClock()
    auth = auth or AuthSettings()
    auth.refuse_defaults(settings.ENV)
    name = settings.deploy_name
    database = settings.database_pool()
    kafka_security = settings.kafka_security()
    engine = make_engine(settings.DATABASE_URL, application_name=name, options=database)
    session_factory = make_session_factory(engine)
    outbox = OutboxWriter(table=tables.outbox, service=name, clock=clock, audit_table=tables.audit)
    idempotency_retention = timedelta(seconds=settings.IDEMPOTENCY_RETENTION_S)

    def uow_factory() -> SqlAlchemyUnitOfWork:
        return uow_class(
            session_factory=session_factory,
            outbox=outbox,
            idempotency_table=tables.idempotency,
            clock=clock,
            idempotency_retention=idempotency_retention,
        )

    bus = MessageBus(
        uow_factory=uow_factory,
        handlers=handlers,
        inbox_table=tables.inbox,
        batchable=batchable,
    )
    namer = TopicNamer(settings.KAFKA_TOPIC_PREFIX)
    producer_factory = partial(
        make_producer,
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        client_id=name,
        security=kafka_security,
    )
    relay = relay_class(
        service=name,
        dsn=asyncpg_dsn(settings.DATABASE_URL),
        table=tables.outbox,
        producer_factory=producer_factory,
        namer=namer,
        batch_size=settings.RELAY_BATCH_SIZE,
        poll_interval_s=settings.RELAY_POLL_INTERVAL_S,
        linger_s=settings.RELAY_LINGER_S,
        connection=database.connection,
    )
    consumer = None
    if subscriptions:
        consumer = InboxConsumer(
            name=name,
            subscriptions=subscriptions,
            bus=bus,
            namer=namer,
            consumer_factory=partial(
                make_consumer,
                bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
                # Prefixed like the topics: runs sharing a broker (tests, benchmarks) never
                # share a consumer group, whose rebalances would reach across them.
                group_id=namer.physical(name),
                client_id=name,
                group_instance_id=settings.KAFKA_GROUP_INSTANCE_ID or None,
                batch_window_s=settings.CONSUMER_LINGER_S,
                security=kafka_security,
            ),
            producer_factory=producer_factory,
            max_attempts=settings.CONSUMER_MAX_ATTEMPTS,
            retry_backoff_s=settings.CONSUMER_RETRY_BACKOFF_S,
            commit_interval_s=settings.CONSUMER_COMMIT_INTERVAL_S,
            max_batch=settings.CONSUMER_MAX_BATCH,
        )
    retention = Retention(
        engine=engine,
        idempotency=tables.idempotency,
        inbox=tables.inbox,
        audit=tables.audit,
        policy=retention_policy(settings),
        clock=clock,
    )
    return ServiceContainer(
        settings=settings,
        access=access_control(settings, auth),
        engine=engine,
        session_factory=session_factory,
        bus=bus,
        relay=relay,
        consumer=consumer,
        clock=clock,
        outbox=outbox,
        raw_pool=RawPool(
            settings.DATABASE_URL,
            size=settings.DATABASE_POOL_SIZE,
            application_name=name,
            connection=database.connection,
        ),
        # Every service's own jobs are added after this one by its bootstrap.
        jobs=[retention.job(settings.RETENTION_INTERVAL_S).run],
    )


def retention_policy(settings: ServiceSettings) -> RetentionPolicy:
    return RetentionPolicy(
        idempotency=timedelta(seconds=settings.IDEMPOTENCY_RETENTION_S),
        inbox=timedelta(seconds=settings.INBOX_RETENTION_S),
        audit=timedelta(seconds=settings.AUDIT_RETENTION_S),
        batch=settings.RETENTION_BATCH,
    )


def access_control(settings: ServiceSettings, auth: AuthSettings) -> AccessControl:
    return AccessControl(
        verifier=auth.verifier(),
        write_limiter=RateLimiter(
            rate_per_s=settings.WRITE_RATE_PER_S,
            burst=settings.WRITE_BURST,
            per_key={
                client: (allowance.rate_per_s, allowance.burst)
                for client, allowance in settings.WRITE_RATE_PER_CLIENT.items()
            },
        ),
        self_service_limiter=self_service_limiter(settings),
    )


def self_service_limiter(
    settings: ServiceSettings, clock: Callable[[], float] = time.monotonic
) -> RateLimiter:
    """This instance's share of the service-wide self-service limit, in memory. The limit
    stops the guessing of order numbers and e-mails, so it must hold for the whole service
    however many instances (REPLICAS) serve it; a shared bucket in PostgreSQL would cost a
    round trip per request, a share costs nothing (the split between an instance's processes
    is libs.processes.child_settings'). The burst is rounded up: 0 would refuse everyone."""
    return RateLimiter(
        rate_per_s=settings.SELF_SERVICE_RATE_PER_MIN / 60 / settings.REPLICAS,
        burst=math.ceil(settings.SELF_SERVICE_BURST / settings.REPLICAS),
        clock=clock,
    )
