"""Composition root of insights: the one place that picks concrete classes and wires adapters
into the service layer."""

from __future__ import annotations

from functools import partial
from typing import Any

from libs.bootstrap import build_container
from libs.clock import SystemClock
from libs.messaging.kafka import make_consumer, make_producer
from libs.messaging.topics import TopicNamer
from libs.runtime import ServiceContainer
from services.insights.adapters.dead_letter_topics import GROUP as DEAD_LETTER_GROUP
from services.insights.adapters.dead_letter_topics import DeadLetterCollector, KafkaRedriver
from services.insights.adapters.tables import plumbing
from services.insights.adapters.unit_of_work import SqlUnitOfWork
from services.insights.config import InsightsSettings
from services.insights.messaging import publications
from services.insights.messaging.subscriptions import SUBSCRIPTIONS
from services.insights.service_layer.handlers import BATCHABLE, handlers
from services.insights.service_layer.handlers.dead_letters import dead_letter_handlers


class InsightsUnitOfWork(SqlUnitOfWork):
    """The SQL unit of work, publishing each domain event as messaging.publications says."""

    translate = staticmethod(publications.translate)


def bootstrap(settings: InsightsSettings | None = None, **overrides: Any) -> ServiceContainer:
    settings = settings or InsightsSettings()
    clock = overrides.pop("clock", None) or SystemClock()
    namer = TopicNamer(settings.KAFKA_TOPIC_PREFIX)
    redriver = KafkaRedriver(
        namer=namer,
        producer_factory=partial(
            make_producer,
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
            client_id=settings.deploy_name,
            security=settings.kafka_security(),
        ),
        timeout_s=settings.DEAD_LETTER_REDRIVE_TIMEOUT_S,
    )
    container = build_container(
        settings=settings,
        tables=plumbing,
        uow_class=InsightsUnitOfWork,
        handlers={**handlers(), **dead_letter_handlers(redriver)},
        batchable=BATCHABLE,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
        **overrides,
    )
    if settings.DEAD_LETTERS_COLLECT:
        container.jobs.append(dead_letter_collector(settings, container, namer).run)
    return container


def dead_letter_collector(
    settings: InsightsSettings, container: ServiceContainer, namer: TopicNamer
) -> DeadLetterCollector:
    return DeadLetterCollector(
        namer=namer,
        consumer_factory=partial(
            make_consumer,
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
            # Prefixed like the topics, so runs sharing a broker never share the group.
            group_id=namer.physical(DEAD_LETTER_GROUP),
            client_id=settings.deploy_name,
            security=settings.kafka_security(),
        ),
        session_factory=container.session_factory,
    )
