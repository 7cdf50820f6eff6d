"""What notifications consumes: every event type of the topics it reads (the registry's
`consumes`), each to be matched against the webhook endpoints. The types are those the
contracts declare for each topic, so an event type added to a producer is subscribed to here
without an edit."""

from __future__ import annotations

from uuid import UUID

from libs.contracts.base import event_class
from libs.contracts.catalog import all_events
from libs.messaging.consumer import Subscriptions, Translator
from libs.messaging.envelope import Envelope
from libs.registry import service
from services.notifications.domain import commands

CONSUMED_TOPICS = service("notifications").consumes


def _record(env: Envelope) -> commands.RecordEvent:
    # An event that breaks its contract is poison, as it is to every other consumer: it is
    # dead-lettered, never sent on. What is sent is the event as published (fields newer than
    # this service's contracts included), so the validated model is not used further.
    contract = event_class(env.type)
    if contract is not None:
        contract.model_validate(env.data)
    data = env.data
    channel = data.get("channel")
    return commands.RecordEvent(
        event_id=env.id,
        event_type=env.type,
        occurred_at=env.time,
        key=env.partitionkey,
        order_id=_uuid(data.get("order_id")),
        # Only an order's placement says its channel (oms.order.placed).
        channel=channel if isinstance(channel, str) and channel else None,
        cloud_event=env.model_dump(mode="json", exclude_none=True),
    )


def _uuid(value: object) -> UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def _topic(topic: str) -> dict[str, Translator]:
    return {event_type: _record for event_type, cls in all_events().items() if cls.topic == topic}


SUBSCRIPTIONS: Subscriptions = {topic: _topic(topic) for topic in CONSUMED_TOPICS}

# The event types an endpoint may name (libs.contracts): those of the topics consumed.
KNOWN_EVENT_TYPES = frozenset(t for types in SUBSCRIPTIONS.values() for t in types)
