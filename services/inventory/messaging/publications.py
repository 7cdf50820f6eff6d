"""Domain outcomes -> integration events (inventory's published language)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from libs.contracts import inventory as contract
from libs.ids import new_id
from services.inventory.adapters.repository import OpenDelivery, TouchedLevel
from services.inventory.domain.alerts import Alert
from services.inventory.domain.backorders import Repromise
from services.inventory.domain.locations import Location
from services.inventory.domain.reservation import LineChange, Reservation


def reservation_confirmed(res: Reservation) -> contract.ReservationConfirmed:
    return contract.ReservationConfirmed(
        order_id=str(res.order_id),
        reservation_id=str(res.id),
        expires_at=res.expires_at,
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
            for ln in res.lines
        ],
    )


def reservation_rejected(res: Reservation) -> contract.ReservationRejected:
    short = [ln for ln in res.lines if ln.available_at_request is not None]
    return contract.ReservationRejected(
        order_id=str(res.order_id),
        reservation_id=str(res.id),
        reason="insufficient stock for " + ", ".join(ln.sku for ln in short),
        lines=[
            contract.ShortLine(
                sku=ln.sku,
                requested=ln.quantity,
                available=ln.available_at_request or 0,
                location_code=ln.location_code,
            )
            for ln in short
        ],
    )


def reservation_released(
    res: Reservation, changes: Sequence[LineChange], *, reason: str
) -> contract.ReservationReleased:
    return contract.ReservationReleased(
        order_id=str(res.order_id),
        reservation_id=str(res.id),
        reason=reason,
        remaining_open=res.open_units,
        lines=[
            contract.ReleasedLine(
                sku=c.sku, location_code=c.location_code, held=c.held, backordered=c.backordered
            )
            for c in changes
        ],
    )


def stock_committed(
    res: Reservation, changes: Sequence[LineChange], *, shipment_id: str | None
) -> contract.StockCommitted:
    return contract.StockCommitted(
        order_id=str(res.order_id),
        reservation_id=str(res.id),
        shipment_id=shipment_id,
        lines=[
            contract.StockLine(sku=c.sku, location_code=c.location_code, quantity=c.held)
            for c in changes
        ],
    )


def backorder_allocated(
    res: Reservation, lines: Sequence[tuple[str, str, int]]
) -> contract.BackorderAllocated:
    return contract.BackorderAllocated(
        order_id=str(res.order_id),
        reservation_id=str(res.id),
        allocation_id=str(new_id()),
        still_backordered=res.backordered_units,
        lines=[
            contract.StockLine(sku=sku, location_code=code, quantity=quantity)
            for code, sku, quantity in lines
        ],
    )


def backorder_repromised(
    res: Reservation, promises: Sequence[Repromise], *, inbound_id: UUID, reason: str
) -> contract.BackorderRepromised:
    by_no = {ln.line_no: ln for ln in res.lines}
    return contract.BackorderRepromised(
        order_id=str(res.order_id),
        reservation_id=str(res.id),
        inbound_id=str(inbound_id),
        reason=reason,
        still_backordered=res.backordered_units,
        lines=[
            contract.RepromisedLine(
                sku=by_no[p.line_no].sku,
                location_code=by_no[p.line_no].key[0],
                line_id=by_no[p.line_no].order_line_id,
                backordered=p.backordered,
                expected_at=p.expected_at,
                previous_expected_at=p.previous_expected_at,
                lapsed=p.lapsed,
            )
            for p in promises
        ],
    )


def stock_changed(touched: TouchedLevel, *, network_available: int) -> contract.StockChanged:
    level = touched.level
    return contract.StockChanged(
        sku=level.sku,
        location_code=level.location_code,
        on_hand=level.on_hand,
        reserved=level.reserved,
        safety_stock=level.safety_stock,
        available=level.available,
        network_available=network_available,
        reasons=sorted(set(touched.reasons)),
    )


def location_changed(
    loc: Location, *, change: str, fields: Sequence[str] = ()
) -> contract.LocationChanged:
    a = loc.address
    return contract.LocationChanged(
        code=loc.code,
        change=change,
        changed_fields=list(fields),
        name=loc.name,
        type=loc.type.value,
        active=loc.active,
        capabilities=sorted(c.value for c in loc.capabilities),
        address=contract.LocationAddress(
            line1=a.line1,
            line2=a.line2,
            city=a.city,
            region=a.region,
            postal_code=a.postal_code,
            country=a.country,
            latitude=a.latitude,
            longitude=a.longitude,
        ),
        priority=loc.priority,
        daily_order_capacity=loc.daily_order_capacity,
        processing_days=loc.processing_days,
        cutoff_time=loc.cutoff_time,
        timezone=loc.timezone,
        location_version=loc.version,
    )


def incoming_changed(
    key: tuple[str, str], deliveries: Sequence[OpenDelivery], *, inbound_id: UUID, reason: str
) -> contract.IncomingChanged:
    code, sku = key
    return contract.IncomingChanged(
        sku=sku,
        location_code=code,
        incoming=sum(d.quantity for d in deliveries),
        deliveries=[
            contract.IncomingDelivery(
                inbound_id=str(d.inbound_id), quantity=d.quantity, expected_at=d.expected_at
            )
            for d in deliveries
        ],
        inbound_id=str(inbound_id),
        reason=reason,
    )


def stock_alert(
    alert: Alert, *, sku: str, available: int, threshold: int | None
) -> contract.LowStock | contract.BackInStock:
    if alert is Alert.LOW_STOCK:
        return contract.LowStock(sku=sku, available=available, threshold=threshold or 0)
    return contract.BackInStock(sku=sku, available=available)
