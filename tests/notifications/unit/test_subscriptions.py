"""What notifications makes of a consumed event: the command, or poison when the event breaks
its contract (dead-lettered, as by every other consumer)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from libs.contracts.order import EventPayment, OrderPlaced, PlacedOrderLine
from libs.messaging.topics import ORDER_EVENTS
from libs.registry import service
from services.notifications.domain import commands
from services.notifications.messaging.subscriptions import SUBSCRIPTIONS
from tests.support.events import envelope_of

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ORDER_ID = uuid.uuid4()


def placed() -> OrderPlaced:
    return OrderPlaced(
        order_id=str(ORDER_ID),
        order_number="OMS-1",
        channel="web",
        channel_order_ref="ref-1",
        currency="EUR",
        customer_email="ada@example.com",
        lines=[PlacedOrderLine(line_id="l1", sku="SKU-1", quantity=1, unit_price=Decimal(10))],
        total_amount=Decimal("10.00"),
        placed_at=NOW,
        payment=EventPayment(method="card", amount=Decimal("10.00"), token="tok_visa_4242"),
    )


def test_every_event_type_of_the_consumed_topics_is_subscribed() -> None:
    assert set(SUBSCRIPTIONS) == set(service("notifications").consumes)
    assert "oms.order.placed" in SUBSCRIPTIONS[ORDER_EVENTS]
    assert all(SUBSCRIPTIONS.values())


def test_a_placed_order_becomes_a_command_with_its_order_and_channel() -> None:
    envelope = envelope_of(placed(), at=NOW, event_id="evt-9")

    cmd = SUBSCRIPTIONS[ORDER_EVENTS]["oms.order.placed"](envelope)

    assert isinstance(cmd, commands.RecordEvent)
    assert (cmd.event_id, cmd.event_type, cmd.occurred_at) == ("evt-9", "oms.order.placed", NOW)
    assert (cmd.order_id, cmd.channel, cmd.key) == (ORDER_ID, "web", str(ORDER_ID))
    assert cmd.cloud_event["id"] == "evt-9"
    assert cmd.cloud_event["data"]["channel"] == "web"


def test_an_event_that_breaks_its_contract_is_poison() -> None:
    envelope = envelope_of(placed(), at=NOW).model_copy(update={"data": {"order_id": "x"}})

    with pytest.raises(ValidationError):
        SUBSCRIPTIONS[ORDER_EVENTS]["oms.order.placed"](envelope)
