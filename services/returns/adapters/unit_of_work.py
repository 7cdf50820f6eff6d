"""The SQLAlchemy unit of work of returns: one transaction, the repositories on its session,
and the events of the returns it saw turned into outbox rows at each command's end.

How a domain event is published is not decided here: `translate` (domain event -> integration
event) is handed in by bootstrap (messaging.publications.translate), so adapters never import
messaging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Unpack

from libs.contracts.base import IntegrationEvent
from libs.db.idempotency import IdempotencyKeys
from libs.db.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkPlumbing
from services.returns.adapters.repository import OrderProjection, PolicyStore, ReturnRepository
from services.returns.domain.events import ReturnEvent
from services.returns.service_layer.unit_of_work import UnitOfWork

Translate = Callable[[ReturnEvent], IntegrationEvent]


class SqlUnitOfWork(SqlAlchemyUnitOfWork, UnitOfWork):
    orders: OrderProjection
    returns: ReturnRepository
    policies: PolicyStore
    idempotency: IdempotencyKeys

    def __init__(self, *, translate: Translate, **plumbing: Unpack[UnitOfWorkPlumbing]) -> None:
        """`translate`: the integration event published for each domain event."""
        super().__init__(**plumbing)
        self._translate = translate

    def start(self) -> None:
        self.orders = OrderProjection(self.session)
        self.returns = ReturnRepository(self.session)
        self.policies = PolicyStore(self.session)

    async def commit(self) -> None:
        await self.orders.flush()
        await super().commit()

    def collect_events(self) -> list[IntegrationEvent]:
        """What the returns of this unit of work announced, in order, to the outbox."""
        return [self._translate(e) for e in self.collect_new_events()]
