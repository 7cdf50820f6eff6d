"""An integration event wrapped as its consumer receives it from Kafka, for tests that hand
events to a service's subscriptions without a broker."""

from __future__ import annotations

from datetime import datetime

from libs.contracts.base import IntegrationEvent
from libs.messaging.envelope import Envelope, dataschema_of


def envelope_of(
    event: IntegrationEvent,
    *,
    at: datetime,
    event_id: str = "evt-1",
    correlation_id: str = "corr-1",
) -> Envelope:
    """The CloudEvent a producer's outbox would send for `event` (libs.outbox.writer)."""
    return Envelope(
        id=event_id,
        source="/oms/test",
        type=event.event_type,
        subject=event.subject,
        time=at,
        dataschema=dataschema_of(event.topic, event.event_type, event.version),
        correlationid=correlation_id,
        partitionkey=event.partition_key,
        data=event.model_dump(mode="json"),
    )
