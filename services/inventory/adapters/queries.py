"""Read-side SQL for inventory's GET endpoints."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.adapters.tables import reservation, reservation_line, stock_level
from services.inventory.api.schemas import (
    LocationStock,
    ReservationLineRead,
    ReservationRead,
    StockRead,
)


async def stock_of(session: AsyncSession, sku: str) -> StockRead | None:
    rows = (
        await session.execute(
            select(stock_level)
            .where(stock_level.c.sku == sku)
            .order_by(stock_level.c.location_code)
        )
    ).all()
    if not rows:
        return None
    locations = [
        LocationStock(
            location_code=r.location_code,
            on_hand=r.on_hand,
            reserved=r.reserved,
            available=r.on_hand - r.reserved,
        )
        for r in rows
    ]
    return StockRead(
        sku=sku,
        on_hand=sum(loc.on_hand for loc in locations),
        reserved=sum(loc.reserved for loc in locations),
        available=sum(loc.available for loc in locations),
        locations=locations,
    )


async def reservations_of_order(session: AsyncSession, order_id: UUID) -> list[ReservationRead]:
    rows = (
        await session.execute(select(reservation).where(reservation.c.order_id == order_id))
    ).all()
    result = []
    for r in rows:
        lines = await session.execute(
            select(reservation_line)
            .where(reservation_line.c.reservation_id == r.id)
            .order_by(reservation_line.c.sku, reservation_line.c.location_code)
        )
        result.append(
            ReservationRead(
                id=r.id,
                order_id=r.order_id,
                status=r.status,
                created_at=r.created_at,
                lines=[
                    ReservationLineRead(
                        sku=ln.sku, location_code=ln.location_code, quantity=ln.quantity
                    )
                    for ln in lines
                ],
            )
        )
    return result
