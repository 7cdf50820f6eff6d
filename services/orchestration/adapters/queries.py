"""Read-side SQL for orchestration's GET endpoints."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.orchestration.adapters.tables import order_saga, saga_step
from services.orchestration.api.schemas import SagaRead, SagaStepRead


async def saga_of(session: AsyncSession, order_id: UUID) -> SagaRead | None:
    row = (
        await session.execute(select(order_saga).where(order_saga.c.order_id == order_id))
    ).one_or_none()
    if row is None:
        return None
    steps = await session.execute(
        select(saga_step).where(saga_step.c.order_id == order_id).order_by(saga_step.c.id)
    )
    return SagaRead(
        order_id=row.order_id,
        order_number=row.order_number,
        state=row.state,
        started_at=row.started_at,
        updated_at=row.updated_at,
        steps=[SagaStepRead(name=s.name, at=s.at, detail=s.detail) for s in steps],
    )
