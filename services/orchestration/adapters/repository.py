"""Loads and saves order sagas; all aggregate SQL of orchestration lives here."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.orchestration.adapters.tables import order_saga, saga_step
from services.orchestration.domain.model import OrderSaga, SagaState


class SagaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_if_new(self, saga: OrderSaga) -> bool:
        inserted = await self._session.execute(
            pg_insert(order_saga)
            .values(
                order_id=saga.order_id,
                order_number=saga.order_number,
                state=saga.state.value,
                started_at=saga.started_at,
                updated_at=saga.updated_at,
            )
            .on_conflict_do_nothing()
            .returning(order_saga.c.order_id)
        )
        if inserted.first() is None:
            return False
        await self._write_steps(saga)
        return True

    async def get_for_update(self, order_id: UUID) -> OrderSaga | None:
        row = (
            await self._session.execute(
                select(order_saga).where(order_saga.c.order_id == order_id).with_for_update()
            )
        ).one_or_none()
        if row is None:
            return None
        return OrderSaga(
            row.order_id, row.order_number, SagaState(row.state), row.started_at, row.updated_at
        )

    async def fill_order_number(self, order_id: UUID, order_number: str) -> None:
        await self._session.execute(
            update(order_saga)
            .where(order_saga.c.order_id == order_id, order_saga.c.order_number == "")
            .values(order_number=order_number)
        )

    async def save(self, saga: OrderSaga) -> None:
        await self._session.execute(
            update(order_saga)
            .where(order_saga.c.order_id == saga.order_id)
            .values(state=saga.state.value, updated_at=saga.updated_at)
        )
        await self._write_steps(saga)

    async def _write_steps(self, saga: OrderSaga) -> None:
        if saga.new_steps:
            await self._session.execute(
                insert(saga_step),
                [
                    {"order_id": saga.order_id, "name": s.name, "at": s.at, "detail": s.detail}
                    for s in saga.new_steps
                ],
            )
            saga.new_steps.clear()
