"""What orchestration keeps of a placed order: the snapshot taken from oms.order.placed, and
the snapshot as the saga's row stores and loads it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from libs.contracts.order import (
    EventDelivery,
    OrderPlaced,
    OrderPriorityChanged,
    PlacedOrderLine,
)
from services.orchestration.domain.commands import ChangePriority, StartSaga
from services.orchestration.domain.order import OrderSnapshot
from services.orchestration.messaging.subscriptions import SUBSCRIPTIONS
from tests.support.events import envelope_of

NOW = datetime(2026, 12, 1, 10, 15, tzinfo=UTC)
ORDER_ID = UUID(int=7)


def started(requested: date | None) -> OrderSnapshot:
    event = OrderPlaced(
        order_id=str(ORDER_ID),
        order_number="ORD-1001",
        channel="web",
        channel_order_ref="WEB-1",
        currency="EUR",
        customer_email="ada@example.com",
        lines=[PlacedOrderLine(line_id="l1", sku="LAMP", quantity=1, unit_price=Decimal("9"))],
        total_amount=Decimal("9"),
        placed_at=NOW,
        delivery=EventDelivery(method="ship", service_level="standard"),
        requested_delivery_date=requested,
    )
    env = envelope_of(event, at=NOW)
    command = SUBSCRIPTIONS[event.topic][event.event_type](env)
    assert isinstance(command, StartSaga)
    return command.order


class TestRequestedDeliveryDate:
    def test_is_kept_from_the_placed_event(self) -> None:
        assert started(date(2026, 12, 8)).requested_delivery_date == date(2026, 12, 8)
        assert started(None).requested_delivery_date is None

    def test_survives_the_sagas_row(self) -> None:
        order = started(date(2026, 12, 8))
        assert OrderSnapshot.from_dict(order.to_dict()) == order

    def test_a_row_stored_before_the_date_was_kept_loads_without_one(self) -> None:
        stored = started(None).to_dict()
        del stored["requested_delivery_date"]
        assert OrderSnapshot.from_dict(stored).requested_delivery_date is None


def test_an_expedited_order_becomes_a_change_of_its_sagas_priority() -> None:
    event = OrderPriorityChanged(
        order_id=str(ORDER_ID),
        order_number="ORD-1001",
        sequence=2,
        priority="high",
        previous_priority="normal",
        reason="VIP customer",
        changed_at=NOW,
    )
    command = SUBSCRIPTIONS[event.topic][event.event_type](envelope_of(event, at=NOW))
    assert command == ChangePriority(order_id=ORDER_ID, priority="high")
