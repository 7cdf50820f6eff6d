"""Thin HTTP endpoints of inventory."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from libs.http.deps import BusDep, ReadSessionDep
from libs.http.problems import problem_responses
from services.inventory.adapters import queries
from services.inventory.api.schemas import Code, ReservationList, StockLevelUpdate, StockRead
from services.inventory.domain.commands import SetStockLevel
from services.inventory.domain.errors import SkuNotFound

stock = APIRouter(tags=["stock"])
reservations = APIRouter(tags=["reservations"])


@stock.put(
    "/locations/{location_code}/stock/{sku}",
    status_code=204,
    summary="Set a location's on-hand count of a SKU",
    responses=problem_responses(409, 422, 503),
)
async def set_level(
    location_code: Code, sku: Code, body: StockLevelUpdate, bus: BusDep
) -> Response:
    """Record a counted on-hand quantity (from a WMS or ERP sync); reserved stock is kept."""
    await bus.handle(SetStockLevel(location_code=location_code, sku=sku, on_hand=body.on_hand))
    return Response(status_code=204)


@stock.get(
    "/stock/{sku}",
    summary="Stock of a SKU per location and in total",
    responses=problem_responses(404, 503),
)
async def get(sku: Code, session: ReadSessionDep) -> StockRead:
    """On hand, reserved and available quantities of one SKU at every location."""
    found = await queries.stock_of(session, sku)
    if found is None:
        raise SkuNotFound(f"no stock recorded for SKU {sku}")
    return found


@reservations.get(
    "/reservations", summary="Reservations of an order", responses=problem_responses(422, 503)
)
async def list_(order_id: UUID, session: ReadSessionDep) -> ReservationList:
    """Every reservation held for the given order, with its lines."""
    return ReservationList(items=await queries.reservations_of_order(session, order_id))
