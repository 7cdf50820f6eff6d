"""Stock levels and reservations; all aggregate SQL of inventory lives here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.adapters.tables import reservation, reservation_line, stock_level
from services.inventory.domain.model import Allocation, StockLevel


class StockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_levels(self, skus: Iterable[str]) -> dict[str, list[StockLevel]]:
        """Lock every location's row of these SKUs, in one global order: lockers never deadlock."""
        rows = await self._session.execute(
            select(stock_level)
            .where(stock_level.c.sku.in_(sorted(set(skus))))
            .order_by(stock_level.c.sku, stock_level.c.location_code)
            .with_for_update()
        )
        levels: dict[str, list[StockLevel]] = defaultdict(list)
        for r in rows:
            levels[r.sku].append(StockLevel(r.location_code, r.sku, r.on_hand, r.reserved))
        return levels

    async def lock_level(self, *, location_code: str, sku: str, now: datetime) -> StockLevel:
        """The row of one (location, SKU), created empty if new, locked for this transaction."""
        await self._session.execute(
            pg_insert(stock_level)
            .values(location_code=location_code, sku=sku, on_hand=0, reserved=0, updated_at=now)
            .on_conflict_do_nothing()
        )
        r = (
            await self._session.execute(
                select(stock_level)
                .where(stock_level.c.location_code == location_code, stock_level.c.sku == sku)
                .with_for_update()
            )
        ).one()
        return StockLevel(r.location_code, r.sku, r.on_hand, r.reserved)

    async def save(self, levels: Iterable[StockLevel], *, now: datetime) -> None:
        for lv in levels:
            await self._session.execute(
                update(stock_level)
                .where(stock_level.c.location_code == lv.location_code, stock_level.c.sku == lv.sku)
                .values(on_hand=lv.on_hand, reserved=lv.reserved, updated_at=now)
            )


class ReservationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def exists_for_order(self, order_id: UUID) -> bool:
        found = await self._session.scalar(
            select(reservation.c.id).where(reservation.c.order_id == order_id)
        )
        return found is not None

    async def add(
        self, *, reservation_id: UUID, order_id: UUID, allocations: list[Allocation], now: datetime
    ) -> None:
        await self._session.execute(
            insert(reservation).values(
                id=reservation_id, order_id=order_id, status="held", created_at=now
            )
        )
        await self._session.execute(
            insert(reservation_line),
            [
                {
                    "reservation_id": reservation_id,
                    "sku": a.sku,
                    "location_code": a.location_code,
                    "quantity": a.quantity,
                }
                for a in allocations
            ],
        )
