"""Allocation outcomes -> integration events (inventory's published language)."""

from __future__ import annotations

from uuid import UUID

from libs.contracts.inventory import ReservedLine, Shortage, StockReservationRejected, StockReserved
from services.inventory.domain.model import Allocation, Shortfall


def stock_reserved(
    order_id: UUID, reservation_id: UUID, allocations: list[Allocation]
) -> StockReserved:
    return StockReserved(
        order_id=str(order_id),
        reservation_id=str(reservation_id),
        lines=[
            ReservedLine(sku=a.sku, location_code=a.location_code, quantity=a.quantity)
            for a in allocations
        ],
    )


def reservation_rejected(order_id: UUID, shortfalls: list[Shortfall]) -> StockReservationRejected:
    skus = ", ".join(s.sku for s in shortfalls)
    return StockReservationRejected(
        order_id=str(order_id),
        reason=f"insufficient stock for {skus}",
        shortages=[
            Shortage(sku=s.sku, requested=s.requested, available=s.available) for s in shortfalls
        ],
    )
