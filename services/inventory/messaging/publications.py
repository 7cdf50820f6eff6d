"""Domain events -> integration events: inventory's published language, in one place.

`translate` matches the union of domain events exhaustively: an event type added to
domain/events.py and left unmapped here fails mypy (assert_never), instead of failing at
commit. The unit of work turns each recorded event into its outbox row with it (bootstrap
hands it over; adapters never import messaging).
"""

from __future__ import annotations

from typing import assert_never

from libs.contracts import inventory as contract
from libs.contracts.base import IntegrationEvent
from libs.messaging.wire import from_event
from services.inventory.domain import events
from services.inventory.domain.locations import Location


def translate(event: events.InventoryEvent) -> IntegrationEvent:
    match event:
        case events.ReservationConfirmed():
            return reservation_confirmed(event)
        case events.ReservationRejected():
            return reservation_rejected(event)
        case events.ReservationReleased():
            return reservation_released(event)
        case events.StockCommitted():
            return stock_committed(event)
        case events.BackorderAllocated():
            return backorder_allocated(event)
        case events.BackorderRepromised():
            return backorder_repromised(event)
        case events.StockChanged():
            return stock_changed(event)
        case events.LocationChanged():
            return location_changed(event)
        case events.IncomingChanged():
            return incoming_changed(event)
        case events.LowStock():
            return contract.LowStock(
                sku=event.sku, available=event.available, threshold=event.threshold or 0
            )
        case events.BackInStock():
            return contract.BackInStock(sku=event.sku, available=event.available)
        case _:
            assert_never(event)


def reservation_confirmed(event: events.ReservationConfirmed) -> contract.ReservationConfirmed:
    return contract.ReservationConfirmed(
        order_id=str(event.order_id),
        reservation_id=str(event.reservation_id),
        expires_at=event.expires_at,
        lines=[
            contract.ReservedLine(
                sku=ln.sku,
                location_code=ln.location_code or "",
                quantity=ln.quantity,
                held=ln.held,
                backordered=ln.backordered,
                expected_at=ln.expected_at,
                line_id=ln.order_line_id,
            )
            for ln in event.lines
        ],
    )


def reservation_rejected(event: events.ReservationRejected) -> contract.ReservationRejected:
    return contract.ReservationRejected(
        order_id=str(event.order_id),
        reservation_id=str(event.reservation_id),
        reason="insufficient stock for " + ", ".join(ln.sku for ln in event.short),
        lines=[
            contract.ShortLine(
                sku=ln.sku,
                requested=ln.requested,
                available=ln.available,
                location_code=ln.location_code,
            )
            for ln in event.short
        ],
    )


def reservation_released(event: events.ReservationReleased) -> contract.ReservationReleased:
    return contract.ReservationReleased(
        order_id=str(event.order_id),
        reservation_id=str(event.reservation_id),
        reason=event.reason,
        remaining_open=event.remaining_open,
        lines=[
            contract.ReleasedLine(
                sku=c.sku, location_code=c.location_code, held=c.held, backordered=c.backordered
            )
            for c in event.changes
        ],
    )


def stock_committed(event: events.StockCommitted) -> contract.StockCommitted:
    return contract.StockCommitted(
        order_id=str(event.order_id),
        reservation_id=str(event.reservation_id),
        shipment_id=event.shipment_id,
        lines=[
            contract.StockLine(sku=c.sku, location_code=c.location_code, quantity=c.held)
            for c in event.changes
        ],
    )


def backorder_allocated(event: events.BackorderAllocated) -> contract.BackorderAllocated:
    return contract.BackorderAllocated(
        order_id=str(event.order_id),
        reservation_id=str(event.reservation_id),
        allocation_id=str(event.allocation_id),
        still_backordered=event.still_backordered,
        lines=[
            contract.StockLine(sku=ln.sku, location_code=ln.location_code, quantity=ln.quantity)
            for ln in event.lines
        ],
    )


def backorder_repromised(event: events.BackorderRepromised) -> contract.BackorderRepromised:
    return contract.BackorderRepromised(
        order_id=str(event.order_id),
        reservation_id=str(event.reservation_id),
        inbound_id=str(event.inbound_id),
        reason=event.reason,
        still_backordered=event.still_backordered,
        lines=[
            contract.RepromisedLine(
                sku=ln.sku,
                location_code=ln.location_code,
                line_id=ln.order_line_id,
                backordered=ln.backordered,
                expected_at=ln.expected_at,
                previous_expected_at=ln.previous_expected_at,
                lapsed=ln.lapsed,
            )
            for ln in event.lines
        ],
    )


def stock_changed(event: events.StockChanged) -> contract.StockChanged:
    return contract.StockChanged(
        sku=event.sku,
        location_code=event.location_code,
        on_hand=event.on_hand,
        reserved=event.reserved,
        safety_stock=event.safety_stock,
        available=event.available,
        network_available=event.network_available,
        reasons=sorted(set(event.reasons)),
    )


def location_changed(event: events.LocationChanged) -> contract.LocationChanged:
    loc: Location = event.location
    return contract.LocationChanged(
        code=loc.code,
        change=event.change,
        changed_fields=list(event.fields),
        name=loc.name,
        type=loc.type.value,
        active=loc.active,
        capabilities=sorted(c.value for c in loc.capabilities),
        address=from_event(contract.LocationAddress, loc.address),
        priority=loc.priority,
        daily_order_capacity=loc.daily_order_capacity,
        processing_days=loc.processing_days,
        cutoff_time=loc.cutoff_time,
        timezone=loc.timezone,
        location_version=loc.version,
    )


def incoming_changed(event: events.IncomingChanged) -> contract.IncomingChanged:
    return contract.IncomingChanged(
        sku=event.sku,
        location_code=event.location_code,
        incoming=sum(d.quantity for d in event.deliveries),
        deliveries=[
            contract.IncomingDelivery(
                inbound_id=str(d.inbound_id), quantity=d.quantity, expected_at=d.expected_at
            )
            for d in event.deliveries
        ],
        inbound_id=str(event.inbound_id),
        reason=event.reason,
    )
