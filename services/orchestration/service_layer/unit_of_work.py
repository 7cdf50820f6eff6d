from __future__ import annotations

from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.orchestration.adapters.repository import SagaRepository


class OrchestrationUnitOfWork(SqlAlchemyUnitOfWork):
    sagas: SagaRepository

    def start(self) -> None:
        self.sagas = SagaRepository(self.session)
