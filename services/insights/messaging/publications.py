"""What insights publishes: nothing. It owns no topic; the translation exists so its unit of
work is built like every other service's, and an event added to domain/events.py must be
mapped here (mypy --strict fails on the exhaustive match otherwise)."""

from __future__ import annotations

from typing import assert_never

from libs.contracts.base import IntegrationEvent
from services.insights.domain import events


def translate(event: events.InsightsEvent) -> IntegrationEvent:
    assert_never(event)
