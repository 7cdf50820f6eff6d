"""Inventory's published language: events on oms.inventory.events and the commands it accepts
on oms.inventory.commands."""

from __future__ import annotations

from datetime import datetime, time
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


class RepromisedLine(BaseModel):
    sku: str
    location_code: str
    line_id: str | None = Field(None, description="The order line, when the sender named it")
    backordered: int = Field(ge=0, description="Units of the line still waiting")
    expected_at: datetime | None = Field(
        None, description="When they are expected now (null when none wait any more)"
    )
    previous_expected_at: datetime | None = Field(None, description="What was promised before")
    lapsed: int = Field(
        0,
        ge=0,
        description="Units no delivery covers any more: they left the queue and are no "
        "longer reserved (the order routes them again)",
    )


class BackorderRepromised(OrderEvent):
    """A delivery backorders counted on was cancelled or moved to another date: the waiting
    lines were promised again from the deliveries still expected, front of the queue first;
    the units none covers lapsed. Only the lines whose promise changed are named."""

    event_type: ClassVar[str] = "oms.inventory.backorder_repromised"
    topic: ClassVar[str] = INVENTORY_EVENTS

    reservation_id: str
    inbound_id: str = Field(description="The delivery whose change this is")
    reason: str = Field(description="inbound_cancelled or inbound_rescheduled")
    lines: list[RepromisedLine]
    still_backordered: int = Field(description="Units of the reservation still waited for")


# --- Events about stock levels (key: SKU) ---------------------------------------------------


class SkuEvent(IntegrationEvent):
    """An event about one SKU: keyed by it, so one SKU's level changes stay in order."""

    sku: str

    @property
    def partition_key(self) -> str:
        return self.sku


class StockChanged(SkuEvent):
    """A location's counters of a SKU changed; the values are the new ones.

    Sent by every transaction that changes a row's available units (holds, releases,
    shipments, counts, adjustments, imports, safety stock, receipts, returns, backorder
    allocations), once per row, with the counters the transaction left and the reasons of
    all its changes: a batch of reservations taking from one row announces it once. A
    location's activation changes no row: location_changed says it, once for all its SKUs."""

    event_type: ClassVar[str] = "oms.inventory.stock_changed"
    topic: ClassVar[str] = INVENTORY_EVENTS

    location_code: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int = Field(
        description="What a new reservation may take here now: on_hand - reserved - "
        "safety_stock, never below 0 (whether or not the location is active)"
    )
    network_available: int = Field(description="Available at every active location together")
    reasons: list[str] = Field(description="Why: the ledger reasons of the changes")


class IncomingDelivery(BaseModel):
    inbound_id: str
    quantity: int = Field(gt=0, description="Units still expected")
    expected_at: datetime


class IncomingChanged(SkuEvent):
    """The units expected at a location for a SKU changed: a delivery was announced,
    received (in part or whole) or cancelled. The values are the new ones; backorders are
    promised against them."""

    event_type: ClassVar[str] = "oms.inventory.incoming_changed"
    topic: ClassVar[str] = INVENTORY_EVENTS

    location_code: str
    incoming: int = Field(
        ge=0, description="Units still expected here: every open delivery together"
    )
    deliveries: list[IncomingDelivery] = Field(description="The open deliveries, soonest first")
    inbound_id: str = Field(description="The delivery whose change this is")
    reason: str = Field(
        description="inbound_created, inbound_received, inbound_rescheduled or inbound_cancelled"
    )


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


# --- Events about locations (key: location code) -----------------------------------------


class LocationAddress(BaseModel):
    line1: str
    line2: str | None = None
    city: str
    region: str | None = None
    postal_code: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    latitude: float | None = None
    longitude: float | None = None


class LocationChanged(IntegrationEvent):
    """A location was created or changed, activation and deactivation included: the whole
    location as it now is, with everything routing reads. Keyed by its code, so one
    location's changes stay in order; `location_version` grows with every change."""

    event_type: ClassVar[str] = "oms.inventory.location_changed"
    topic: ClassVar[str] = INVENTORY_EVENTS

    code: str
    change: str = Field(description="created or updated")
    changed_fields: list[str] = Field(
        default_factory=list, description="On an update, the fields that changed"
    )
    name: str
    type: str = Field(description="warehouse, store, dropship or 3pl")
    active: bool = Field(description="Whether routing and availability may use it")
    capabilities: list[str] = Field(description="ship, pickup, ship_from_store")
    address: LocationAddress
    priority: int = Field(description="Higher is preferred by routing")
    daily_order_capacity: int | None = Field(
        None, description="Fulfilment orders a day; null: no limit"
    )
    processing_days: int = Field(description="Days from order to dispatch")
    cutoff_time: time | None = Field(
        None, description="Local time (in `timezone`) after which orders count from the next day"
    )
    timezone: str = Field(description="IANA time zone")
    location_version: int = Field(
        description="The location's version (its ETag): higher is newer, one step a change"
    )

    @property
    def partition_key(self) -> str:
        return self.code


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
