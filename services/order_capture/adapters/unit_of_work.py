"""The concrete unit of work of order-capture: one PostgreSQL transaction (libs.db.unit_of_work)
with the order repository, implementing service_layer.unit_of_work.UnitOfWork.

The domain events the orders record become outbox rows and timeline entries through
`translate`, which the composition root hands in (messaging.publications.translate): adapters
know no published language of their own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Unpack

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkPlumbing
from libs.ids import uuids_among
from services.order_capture.adapters.repository import OrderRepository
from services.order_capture.domain.events import OrderEvent
from services.order_capture.domain.model import Order
from services.order_capture.service_layer.unit_of_work import Translate, UnitOfWork, new_events


class SqlAlchemyOrderCaptureUnitOfWork(SqlAlchemyUnitOfWork):
    orders: OrderRepository

    def __init__(self, *, translate: Translate, **plumbing: Unpack[UnitOfWorkPlumbing]) -> None:
        super().__init__(**plumbing)
        self._translate = translate

    def start(self) -> None:
        self.orders = OrderRepository(self.session)

    async def prepare(self, keys: Collection[str]) -> None:
        """A consumer's batch: its orders (the records' keys) loaded and locked at once."""
        await self.orders.lock_many(uuids_among(keys))

    async def commit(self) -> None:
        await self.stage()
        await self.orders.flush()
        await self.orders.write_timeline()
        await super().commit()

    def collect_new_events(self) -> Iterator[tuple[Order, OrderEvent]]:
        return new_events(self.orders.seen)

    def collect_events(self) -> list[IntegrationEvent]:
        """What libs' stage() writes to the outbox: the recorded events, translated. Their
        timeline entries are staged here too, from the same events in the same transaction,
        so the timeline and the outbox never disagree."""
        collected = []
        for order, event in self.collect_new_events():
            publication = self._translate(order, event)
            self.orders.stage_timeline(order, publication.timeline)
            collected.extend(publication.records)
        return collected


def _implements(uow: SqlAlchemyOrderCaptureUnitOfWork) -> UnitOfWork:
    """Never called: mypy checks here that this class fits the abstract unit of work."""
    return uow
