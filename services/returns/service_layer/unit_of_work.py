from __future__ import annotations

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.returns.adapters.repository import OrderProjection, PolicyStore, ReturnRepository
from services.returns.messaging.publications import translate


class ReturnsUnitOfWork(SqlAlchemyUnitOfWork):
    orders: OrderProjection
    returns: ReturnRepository
    policies: PolicyStore

    def start(self) -> None:
        self.orders = OrderProjection(self.session)
        self.returns = ReturnRepository(self.session)
        self.policies = PolicyStore(self.session)

    async def commit(self) -> None:
        await self.orders.flush()
        await super().commit()

    def collect_events(self) -> list[IntegrationEvent]:
        """What the returns of this unit of work announced, in order, to the outbox."""
        events: list[IntegrationEvent] = []
        for r in self.returns.seen:
            events.extend(translate(e) for e in r.events)
            r.events.clear()
        return events
