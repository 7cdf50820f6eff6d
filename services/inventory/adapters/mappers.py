"""Table rows <-> domain objects, for the repository (split out to keep it readable)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row

from services.inventory.domain.inbound import Inbound
from services.inventory.domain.locations import Address, Capability, Location, LocationType
from services.inventory.domain.reservation import Reservation, ReservationLine
from services.inventory.domain.stock import StockLevel


def level(r: Row[Any]) -> StockLevel:
    return StockLevel(r.location_code, r.sku, r.on_hand, r.reserved, r.safety_stock)


def location(r: Row[Any]) -> Location:
    return Location(
        code=r.code,
        name=r.name,
        type=LocationType(r.type),
        address=Address(**r.address, latitude=r.latitude, longitude=r.longitude),
        capabilities=frozenset(Capability(c) for c in r.capabilities),
        priority=r.priority,
        daily_order_capacity=r.daily_order_capacity,
        processing_days=r.processing_days,
        cutoff_time=r.cutoff_time,
        timezone=r.timezone,
        active=r.active,
        version=r.version,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def location_values(loc: Location) -> dict[str, Any]:
    a = loc.address
    return {
        "code": loc.code,
        "name": loc.name,
        "type": loc.type.value,
        "address": {
            "line1": a.line1,
            "line2": a.line2,
            "city": a.city,
            "region": a.region,
            "postal_code": a.postal_code,
            "country": a.country,
        },
        "country": a.country,
        "latitude": a.latitude,
        "longitude": a.longitude,
        "capabilities": sorted(c.value for c in loc.capabilities),
        "priority": loc.priority,
        "daily_order_capacity": loc.daily_order_capacity,
        "processing_days": loc.processing_days,
        "cutoff_time": loc.cutoff_time,
        "timezone": loc.timezone,
        "active": loc.active,
        "version": loc.version,
        "created_at": loc.created_at,
        "updated_at": loc.updated_at,
    }


def inbound(r: Row[Any]) -> Inbound:
    return Inbound(
        id=r.id,
        location_code=r.location_code,
        sku=r.sku,
        quantity=r.quantity,
        received_quantity=r.received_quantity,
        cancelled_quantity=r.cancelled_quantity,
        expected_at=r.expected_at,
        reference=r.reference,
        version=r.version,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def inbound_values(item: Inbound) -> dict[str, Any]:
    return {
        "id": item.id,
        "location_code": item.location_code,
        "sku": item.sku,
        "quantity": item.quantity,
        "received_quantity": item.received_quantity,
        "cancelled_quantity": item.cancelled_quantity,
        "expected_at": item.expected_at,
        "reference": item.reference,
        "status": item.status.value,
        "version": item.version,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def line(r: Row[Any]) -> ReservationLine:
    return ReservationLine(
        line_no=r.line_no,
        sku=r.sku,
        location_code=r.location_code,
        quantity=r.quantity,
        held=r.held,
        backordered=r.backordered,
        committed=r.committed,
        released=r.released,
        expected_at=r.expected_at,
        order_line_id=r.order_line_id,
        available_at_request=r.available_at_request,
    )


def line_values(reservation_id: UUID, ln: ReservationLine) -> dict[str, Any]:
    return {
        "reservation_id": reservation_id,
        "line_no": ln.line_no,
        "sku": ln.sku,
        "location_code": ln.location_code,
        "order_line_id": ln.order_line_id,
        "quantity": ln.quantity,
        "held": ln.held,
        "backordered": ln.backordered,
        "committed": ln.committed,
        "released": ln.released,
        "expected_at": ln.expected_at,
        "available_at_request": ln.available_at_request,
    }


def reservation(r: Row[Any], lines: list[ReservationLine]) -> Reservation:
    return Reservation(
        id=r.id,
        order_id=r.order_id,
        lines=lines,
        allow_backorder=r.allow_backorder,
        ordered_at=r.ordered_at,
        created_at=r.created_at,
        priority=r.priority,
        expires_at=r.expires_at,
        rejected=r.status == "rejected",
        expired=r.status == "expired",
        reason=r.reason,
        version=r.version,
    )


def reservation_values(res: Reservation) -> dict[str, Any]:
    return {
        "id": res.id,
        "order_id": res.order_id,
        "status": res.status.value,
        "allow_backorder": res.allow_backorder,
        "priority": res.priority,
        "ordered_at": res.ordered_at,
        "expires_at": res.expires_at,
        "reason": res.reason,
        "version": res.version,
    }
