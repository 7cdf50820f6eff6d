"""What insights keeps of each consumed event: the facts its key figures are made of.

Each fact names its business key (the order, the fulfilment, the shipment, the hold, the
return, the refund, a SKU at a location) and the time the event itself says it happened, never
the time it was processed, so a projection rebuilt from the topics gives the same figures. A
fact of an order may come before the order's placement (the topics are read side by side): the
projection upserts it under the order's id, and the placement fills in the rest when it comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class PlacedLine:
    line_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class OrderPlaced:
    order_id: UUID
    channel: str
    currency: str
    total: Decimal
    placed_at: datetime
    lines: tuple[PlacedLine, ...]


@dataclass(frozen=True)
class OrderCancelled:
    order_id: UUID
    at: datetime


@dataclass(frozen=True)
class OrderPlanned:
    """A plan that held (orchestration's order_routed): how many locations its parts name."""

    order_id: UUID
    locations: int


@dataclass(frozen=True)
class DispatchOverdue:
    """Orchestration's sweep found the promised dispatch passed with the units still there."""

    order_id: UUID
    at: datetime


@dataclass(frozen=True)
class BackorderStarted:
    """A reservation promised units from incoming stock (inventory's reservation_confirmed)."""

    order_id: UUID
    reservation_id: str
    at: datetime


@dataclass(frozen=True)
class BackorderEnded:
    """Nothing of the reservation is waited for any more (allocated, or re-promised to none)."""

    order_id: UUID
    reservation_id: str
    at: datetime


@dataclass(frozen=True)
class OrderHeld:
    order_id: UUID
    hold_id: str
    reason_code: str
    at: datetime


@dataclass(frozen=True)
class FulfilmentCreated:
    order_id: UUID
    fulfillment_id: str
    location: str
    at: datetime


@dataclass(frozen=True)
class ShippedLine:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class Shipped:
    """A parcel left a location (or the customer collected it: `delivered` then too)."""

    order_id: UUID
    shipment_id: str
    location: str
    at: datetime
    lines: tuple[ShippedLine, ...]
    delivered: bool = False


@dataclass(frozen=True)
class Delivered:
    order_id: UUID
    shipment_id: str
    location: str
    at: datetime


@dataclass(frozen=True)
class ReturnLine:
    line_id: str
    sku: str
    quantity: int
    reason: str


@dataclass(frozen=True)
class ReturnRequested:
    order_id: UUID
    return_id: str
    at: datetime
    lines: tuple[ReturnLine, ...]


@dataclass(frozen=True)
class ReturnRejected:
    order_id: UUID
    return_id: str


@dataclass(frozen=True)
class Refunded:
    order_id: UUID
    refund_id: str
    return_id: str
    amount: Decimal
    currency: str
    at: datetime


@dataclass(frozen=True)
class StockLevel:
    """A location's counters of a SKU as a stock change left them."""

    sku: str
    location: str
    available: int
    network_available: int
    at: datetime


@dataclass(frozen=True)
class LowStockThreshold:
    """The SKU's low-stock threshold, as inventory's low_stock alert states it."""

    sku: str
    threshold: int
    at: datetime


@dataclass(frozen=True)
class LocationCapacity:
    location: str
    daily_order_capacity: int | None
    version: int


Fact = (
    OrderPlaced
    | OrderCancelled
    | OrderPlanned
    | DispatchOverdue
    | BackorderStarted
    | BackorderEnded
    | OrderHeld
    | FulfilmentCreated
    | Shipped
    | Delivered
    | ReturnRequested
    | ReturnRejected
    | Refunded
    | StockLevel
    | LowStockThreshold
    | LocationCapacity
)
