from __future__ import annotations

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.order_capture.adapters import published
from services.order_capture.adapters.repository import OrderRepository


class OrderCaptureUnitOfWork(SqlAlchemyUnitOfWork):
    orders: OrderRepository

    def start(self) -> None:
        self.orders = OrderRepository(self.session)

    def collect_events(self) -> list[IntegrationEvent]:
        collected = []
        for order in self.orders.seen:
            while order.events:
                collected.append(published.translate(order, order.events.pop(0)))
        return collected
