from __future__ import annotations

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from libs.jobs import Wakeup
from services.orchestration.adapters.repository import SagaRepository
from services.orchestration.domain.saga import SagaPolicy
from services.orchestration.service_layer.faults import CrashPoints


class OrchestrationUnitOfWork(SqlAlchemyUnitOfWork):
    sagas: SagaRepository
    crash_points: CrashPoints | None = None  # armed only by the crash tests
    policy: SagaPolicy = SagaPolicy()  # the service's, set by the composition root
    # The saga worker's, set by the composition root: a committed saga may be due for work.
    worker_wakeup: Wakeup | None = None

    async def commit(self) -> None:
        steps = list(self.sagas.written_steps)
        if self.crash_points is not None:
            self.crash_points.at(steps, "before")
        await super().commit()
        if self.crash_points is not None:
            self.crash_points.at(steps, "after")
        if self.worker_wakeup is not None and self.sagas.seen:
            self.worker_wakeup.wake()

    def start(self) -> None:
        self.sagas = SagaRepository(self.session, self.policy)

    def collect_events(self) -> list[IntegrationEvent]:
        """What the sagas of this unit of work announced, in order, to the outbox."""
        events: list[IntegrationEvent] = []
        for saga in self.sagas.seen:
            events.extend(saga.events)
            saga.events.clear()
        return events
