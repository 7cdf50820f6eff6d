"""Imports every producer's module so the registry knows every event type."""

from __future__ import annotations

from libs.contracts import inventory, notifications, orchestration, order, returns
from libs.contracts.base import IntegrationEvent, registered_events

PRODUCER_MODULES = (order, inventory, orchestration, returns, notifications)


def all_events() -> dict[str, type[IntegrationEvent]]:
    return registered_events()
