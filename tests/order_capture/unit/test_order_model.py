from datetime import UTC, datetime
from decimal import Decimal

import pytest

from libs.ids import new_id
from services.order_capture.domain import events
from services.order_capture.domain.errors import DuplicateSku
from services.order_capture.domain.model import Order, OrderLine, OrderStatus

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


def place(*skus: str) -> Order:
    return Order.place(
        id=new_id(),
        order_number="OMS-00001000",
        channel="web",
        channel_order_ref="W-1",
        currency="EUR",
        customer_email="ada@example.com",
        customer_name="Ada",
        lines=[OrderLine(new_id(), sku, 2, Decimal("19.99")) for sku in skus],
        now=NOW,
    )


class TestPlaceOrder:
    def test_starts_pending_with_computed_total_and_a_placed_event(self) -> None:
        order = place("A", "B")
        assert order.status is OrderStatus.PENDING
        assert order.total_amount == Decimal("79.96")
        assert order.events == [events.OrderPlaced()]

    def test_refuses_the_same_sku_on_two_lines(self) -> None:
        with pytest.raises(DuplicateSku) as err:
            place("A", "B", "A")
        assert err.value.extra == {"skus": ["A"]}


class TestStockAnswers:
    def test_reserved_confirms_once(self) -> None:
        order = place("A")
        order.events.clear()
        order.confirm_stock_reserved(now=NOW)
        order.confirm_stock_reserved(now=NOW)
        assert order.status is OrderStatus.CONFIRMED
        assert len(order.events) == 1
        assert order.version == 2

    def test_shortage_backorders_a_pending_order(self) -> None:
        order = place("A")
        order.record_stock_shortage(reason="insufficient stock for A", now=NOW)
        assert order.status is OrderStatus.BACKORDERED

    def test_late_shortage_does_not_undo_a_confirmation(self) -> None:
        order = place("A")
        order.confirm_stock_reserved(now=NOW)
        order.record_stock_shortage(reason="late", now=NOW)
        assert order.status is OrderStatus.CONFIRMED
