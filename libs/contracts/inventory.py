"""Inventory's published language: events on oms.inventory.events and the commands it accepts
on oms.inventory.commands."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from libs.contracts.base import IntegrationEvent, OrderCommand, OrderEvent
from libs.messaging.topics import INVENTORY_COMMANDS, INVENTORY_EVENTS

# --- Events about reservations (key: order id) ---------------------------------------------


class ReservedLine(BaseModel):
    sku: str
    location_code: str
    quantity: int = Field(gt=0, description="Units of this line: held + backordered")
    held: int = Field(ge=0, description="Units held from stock on hand")
    backordered: int = Field(0, ge=0, description="Units promised from incoming stock")
    expected_at: datetime | None = Field(
        None, description="When the backordered units are expected (the promised date)"
    )
    line_id: str | None = Field(None, description="The order line, when the sender named it")


class ReservationConfirmed(OrderEvent):
    """Every line of the reservation is held (or, with backorder allowed, promised from
    incoming stock). Sent again with `expires_at: null` when a temporary hold is made firm."""

    event_type: ClassVar[str] = "oms.inventory.reservation_confirmed"
    topic: ClassVar[str] = INVENTORY_EVENTS

    reservation_id: str
    lines: list[ReservedLine]
    expires_at: datetime | None = None


class ShortLine(BaseModel):
    sku: str
    requested: int
    available: int = Field(description="What could have been reserved for this line")
    location_code: str | None = None


class ReservationRejected(OrderEvent):
    """The reservation could not be made in full, so nothing was held (all or nothing)."""

    event_type: ClassVar[str] = "oms.inventory.reservation_rejected"
    topic: ClassVar[str] = INVENTORY_EVENTS

    reservation_id: str
    reason: str
    lines: list[ShortLine] = Field(description="Each line that was short, and by how much")


class ReleasedLine(BaseModel):
    sku: str
    location_code: str
    held: int = Field(ge=0, description="Held units given back to available stock")
    backordered: int = Field(0, ge=0, description="Backordered units no longer waited for")


class ReservationReleased(OrderEvent):
    """Units of a reservation were given back: cancelled, released by the sender, or expired."""

    event_type: ClassVar[str] = "oms.inventory.reservation_released"
    topic: ClassVar[str] = INVENTORY_EVENTS

    reservation_id: str
    reason: str = Field(description="cancelled, released or expired")
    lines: list[ReleasedLine]
    remaining_open: int = Field(description="Units of the reservation still held or backordered")


class StockLine(BaseModel):
    sku: str
    location_code: str
    quantity: int = Field(gt=0)


class StockCommitted(OrderEvent):
    """Reserved units left the building: on hand and reserved both dropped by `quantity`."""

    event_type: ClassVar[str] = "oms.inventory.stock_committed"
    topic: ClassVar[str] = INVENTORY_EVENTS

    reservation_id: str
    lines: list[StockLine]
    shipment_id: str | None = None


class BackorderAllocated(OrderEvent):
    """Units an order was waiting for arrived and are now held for it (first come, first
    served by order time within priority)."""

    event_type: ClassVar[str] = "oms.inventory.backorder_allocated"
    topic: ClassVar[str] = INVENTORY_EVENTS

    reservation_id: str
    allocation_id: str = Field(description="Names this allocation; it applies once")
    lines: list[StockLine]
    still_backordered: int = Field(description="Units of the reservation still waited for")


# --- Events about stock levels (key: SKU) ---------------------------------------------------


class SkuEvent(IntegrationEvent):
    """An event about one SKU: keyed by it, so one SKU's level changes stay in order."""

    sku: str

    @property
    def partition_key(self) -> str:
        return self.sku


class StockChanged(SkuEvent):
    """A location's counters of a SKU changed; the values are the new ones."""

    event_type: ClassVar[str] = "oms.inventory.stock_changed"
    topic: ClassVar[str] = INVENTORY_EVENTS

    location_code: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    network_available: int = Field(description="Available at every active location together")
    reasons: list[str] = Field(description="Why: the ledger reasons of the changes")


class LowStock(SkuEvent):
    """The SKU's network availability fell to or below its low-stock threshold."""

    event_type: ClassVar[str] = "oms.inventory.low_stock"
    topic: ClassVar[str] = INVENTORY_EVENTS

    available: int
    threshold: int


class BackInStock(SkuEvent):
    """The SKU was unavailable everywhere and is available again."""

    event_type: ClassVar[str] = "oms.inventory.back_in_stock"
    topic: ClassVar[str] = INVENTORY_EVENTS

    available: int


# --- Commands on oms.inventory.commands (key: order id) -------------------------------------


class RequestedLine(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(gt=0, le=1_000_000)
    location_code: str | None = Field(
        None, description="Where to reserve; omitted, inventory picks the location"
    )
    line_id: str | None = Field(None, description="The order line this serves, echoed back")


class ReserveStock(OrderCommand):
    """Reserve every line or none; answered by reservation_confirmed or reservation_rejected."""

    event_type: ClassVar[str] = "oms.inventory.reserve_stock"
    topic: ClassVar[str] = INVENTORY_COMMANDS

    reservation_id: str | None = Field(
        None, description="Chosen by the sender so a repeated command is recognised"
    )
    lines: list[RequestedLine] = Field(min_length=1, max_length=500)
    allow_backorder: bool = False
    expires_at: datetime | None = Field(None, description="A temporary hold until then")
    priority: int = Field(0, ge=0, le=100, description="Backorder queue priority; higher first")
    ordered_at: datetime | None = Field(None, description="Order time, for backorder fairness")


class ReleaseLine(BaseModel):
    sku: str
    quantity: int = Field(gt=0)
    location_code: str | None = None


class ReleaseReservation(OrderCommand):
    """Give reserved units back: all of the reservation, or the named quantities."""

    event_type: ClassVar[str] = "oms.inventory.release_reservation"
    topic: ClassVar[str] = INVENTORY_COMMANDS

    reservation_id: str
    lines: list[ReleaseLine] | None = Field(None, description="Omitted: release everything")
    reason: str = "released"


class CommitReservation(OrderCommand):
    """Reserved units shipped: take them off on hand and reserved."""

    event_type: ClassVar[str] = "oms.inventory.commit_reservation"
    topic: ClassVar[str] = INVENTORY_COMMANDS

    reservation_id: str
    lines: list[ReleaseLine] | None = Field(None, description="Omitted: commit every held unit")
    shipment_id: str | None = None
