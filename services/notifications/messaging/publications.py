"""What notifications publishes: each domain event (domain/events.py) as its integration event
on oms.notifications.events (libs.contracts.notifications), in one exhaustive match, so an
event type left unmapped fails mypy --strict instead of a commit."""

from __future__ import annotations

from typing import assert_never

from libs.contracts import notifications as wire
from libs.contracts.base import IntegrationEvent
from services.notifications.domain import events


def translate(event: events.NotificationEvent) -> IntegrationEvent:
    match event:
        case events.WebhookEndpointDisabled():
            return wire.WebhookEndpointDisabled(
                endpoint_id=str(event.endpoint_id),
                url=event.url,
                reason=event.reason,
                disabled_at=event.disabled_at,
            )
        case _:
            assert_never(event)
