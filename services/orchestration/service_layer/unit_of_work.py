from __future__ import annotations

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.orchestration.adapters.repository import SagaRepository


class OrchestrationUnitOfWork(SqlAlchemyUnitOfWork):
    sagas: SagaRepository

    def start(self) -> None:
        self.sagas = SagaRepository(self.session)

    def collect_events(self) -> list[IntegrationEvent]:
        """What the sagas of this unit of work announced, in order, to the outbox."""
        events: list[IntegrationEvent] = []
        for saga in self.sagas.seen:
            events.extend(saga.events)
            saga.events.clear()
        return events
