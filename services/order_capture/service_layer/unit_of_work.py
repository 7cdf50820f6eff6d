from __future__ import annotations

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.order_capture.adapters import published
from services.order_capture.adapters.repository import OrderRepository


class OrderCaptureUnitOfWork(SqlAlchemyUnitOfWork):
    orders: OrderRepository

    def start(self) -> None:
        self.orders = OrderRepository(self.session)

    async def stage(self) -> None:
        # The timeline is written from the same domain events the outbox gets, in the same
        # transaction, so the two never disagree.
        await self.orders.write_timeline()
        await super().stage()

    def collect_events(self) -> list[IntegrationEvent]:
        collected = []
        for order in self.orders.seen:
            while order.events:
                event = published.translate(order, order.events.pop(0))
                if event is not None:
                    collected.append(event)
        return collected
