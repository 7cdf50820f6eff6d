"""The SQLAlchemy unit of work of insights: one transaction and the repositories on its session.

How a domain event is published is not decided here: `translate` is bound by bootstrap to
messaging.publications.translate, so adapters never import messaging."""

from __future__ import annotations

from collections.abc import Callable

from libs.contracts.base import IntegrationEvent
from libs.db.idempotency import IdempotencyKeys
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.insights.adapters.dead_letters import SqlDeadLetterRepository
from services.insights.adapters.repository import ProjectionRepository
from services.insights.domain.events import InsightsEvent
from services.insights.service_layer.unit_of_work import UnitOfWork

Translate = Callable[[InsightsEvent], IntegrationEvent]


class SqlUnitOfWork(SqlAlchemyUnitOfWork, UnitOfWork):
    translate: Translate  # bound by bootstrap: the published event of each domain event
    projection: ProjectionRepository
    idempotency: IdempotencyKeys

    def start(self) -> None:
        """The projection's and the dead letters' repositories on this unit of work's session."""
        self.projection = ProjectionRepository(self.session)
        self.dead_letters = SqlDeadLetterRepository(self.session)

    def collect_events(self) -> list[IntegrationEvent]:
        return list(map(self.translate, self.collect_new_events()))

    async def commit(self) -> None:
        """The facts the projection kept are written first, in the same transaction."""
        await self.projection.flush()
        await super().commit()
