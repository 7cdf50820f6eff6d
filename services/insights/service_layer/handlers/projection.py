"""Each consumed event's facts go into the projection in the transaction of its inbox row:
consumed twice, it is recorded once."""

from __future__ import annotations

from services.insights.domain.commands import RecordFacts
from services.insights.service_layer.unit_of_work import UnitOfWork


async def record_facts(cmd: RecordFacts, uow: UnitOfWork) -> None:
    for fact in cmd.facts:
        await uow.projection.record(fact)
