"""Events published by inventory on oms.inventory.events."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from libs.contracts.base import OrderEvent
from libs.messaging.topics import INVENTORY_EVENTS


class ReservedLine(BaseModel):
    sku: str
    location_code: str
    quantity: int = Field(gt=0)


class Shortage(BaseModel):
    sku: str
    requested: int
    available: int


class StockReserved(OrderEvent):
    """Stock for every line of the order is held; nothing else can take it."""

    event_type: ClassVar[str] = "oms.inventory.stock_reserved"
    topic: ClassVar[str] = INVENTORY_EVENTS

    reservation_id: str
    lines: list[ReservedLine]


class StockReservationRejected(OrderEvent):
    """The order could not be reserved in full; nothing was held (all or nothing)."""

    event_type: ClassVar[str] = "oms.inventory.stock_reservation_rejected"
    topic: ClassVar[str] = INVENTORY_EVENTS

    reason: str
    shortages: list[Shortage]
