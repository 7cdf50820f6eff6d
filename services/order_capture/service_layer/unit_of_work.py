from __future__ import annotations

from collections.abc import Collection

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from libs.ids import uuids_among
from services.order_capture.adapters import published
from services.order_capture.adapters.repository import OrderRepository


class OrderCaptureUnitOfWork(SqlAlchemyUnitOfWork):
    orders: OrderRepository

    def start(self) -> None:
        self.orders = OrderRepository(self.session)

    async def prepare(self, keys: Collection[str]) -> None:
        """A consumer's batch: its orders (the records' keys) loaded and locked at once."""
        await self.orders.lock_many(uuids_among(keys))

    async def stage(self) -> None:
        # The timeline is written from the same domain events the outbox gets, in the same
        # transaction, so the two never disagree.
        self.orders.stage_timeline()
        await super().stage()

    async def commit(self) -> None:
        await self.stage()
        await self.orders.flush()
        await self.orders.write_timeline()
        await super().commit()

    def collect_events(self) -> list[IntegrationEvent]:
        collected = []
        for order in self.orders.seen:
            while order.events:
                event = published.translate(order, order.events.pop(0))
                if event is not None:
                    collected.append(event)
        return collected
