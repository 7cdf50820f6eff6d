"""The audit rows of a change: one per event it raised, naming the resources the event is about.

Derived from the events rather than written by each route, so no change that announces itself
can go unaudited, and the audit row commits or rolls back with the change and its event.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from libs.auth.actor import current_actor
from libs.contracts.base import IntegrationEvent
from libs.messaging.envelope import Envelope

# Fields that name a resource, in any event that has them, and the resource kind they name.
RESOURCE_FIELDS = {
    "order_id": "order",
    "fulfillment_id": "fulfillment",
    "return_id": "return",
    "reservation_id": "reservation",
    "refund_id": "refund",
    "inbound_id": "inbound",
    "location_code": "location",
    "sku": "sku",
}


def resources_of(event: IntegrationEvent) -> list[str]:
    found = []
    for field, kind in _resource_fields_of(type(event)):
        value = getattr(event, field)
        if isinstance(value, str) and value:
            found.append(f"{kind}:{value}")
    return found or [f"subject:{event.subject}"]


@cache
def _resource_fields_of(event_type: type[IntegrationEvent]) -> tuple[tuple[str, str], ...]:
    """The resource fields an event type has, found once: asking a pydantic model for a
    field it lacks raises and catches an AttributeError inside pydantic, and doing that for
    every field every event lacks was 3-4 % of order capture's CPU."""
    return tuple(
        (field, kind)
        for field, kind in RESOURCE_FIELDS.items()
        if hasattr(event_type, field) or field in event_type.model_fields
    )


def audit_row(event: IntegrationEvent, envelope: Envelope, at: datetime) -> dict[str, Any]:
    actor = current_actor()
    return {
        "at": at,
        "actor": actor.client_id,
        "operation": actor.operation,
        "event_id": envelope.id,
        "event_type": envelope.type,
        "resources": resources_of(event),
        "correlation_id": envelope.correlationid,
        "causation_id": envelope.causationid,
    }
