"""What happened to a webhook endpoint, as the domain records it: plain frozen dataclasses.
messaging/publications.py turns each into the integration event notifications publishes on
the wire; `NotificationEvent` names them all, so a new one that is not mapped there fails the
type check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class WebhookEndpointDisabled:
    """Deliveries to the endpoint failed for too long; it receives nothing until enabled."""

    endpoint_id: UUID
    url: str
    reason: str
    disabled_at: datetime


# Every event notifications records.
NotificationEvent = WebhookEndpointDisabled
