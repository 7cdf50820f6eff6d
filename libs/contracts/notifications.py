"""Events published by notifications on oms.notifications.events."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from libs.contracts.base import IntegrationEvent
from libs.messaging.topics import NOTIFICATIONS_EVENTS


class WebhookEndpointEvent(IntegrationEvent):
    """An event about one webhook endpoint: keyed by its id."""

    topic: ClassVar[str] = NOTIFICATIONS_EVENTS

    endpoint_id: str

    @property
    def partition_key(self) -> str:
        return self.endpoint_id


class WebhookEndpointDisabled(WebhookEndpointEvent):
    """Deliveries to a webhook endpoint failed for longer than allowed, so it was disabled: it
    receives no events until its owner enables it again."""

    event_type: ClassVar[str] = "oms.notifications.webhook_endpoint_disabled"

    url: str = Field(description="Where its deliveries went")
    reason: str = Field(description="Why, in words: the last failures")
    disabled_at: datetime
