"""What happened in inventory: the domain events the handlers record.

Each is a frozen snapshot taken when it is recorded (a reservation changes again later in
the same transaction), in the domain's own terms. messaging/publications.py turns each into
the integration event inventory publishes; `InventoryEvent` is the union of them all, which
that mapping matches exhaustively, so an event type added here and not mapped there fails
the type check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from services.inventory.domain.backorders import Repromise
from services.inventory.domain.inbound import OpenDelivery
from services.inventory.domain.locations import Location
from services.inventory.domain.reservation import LineChange, Reservation
from services.inventory.domain.stock import TouchedLevel


@dataclass(frozen=True)
class HeldLine:
    """One reservation line as it stood when the event was recorded."""

    sku: str
    location_code: str | None
    quantity: int
    held: int
    backordered: int
    expected_at: datetime | None
    order_line_id: str | None


@dataclass(frozen=True)
class ReservationConfirmed:
    order_id: UUID
    reservation_id: UUID
    expires_at: datetime | None
    lines: tuple[HeldLine, ...]

    @classmethod
    def of(cls, res: Reservation) -> ReservationConfirmed:
        return cls(
            order_id=res.order_id,
            reservation_id=res.id,
            expires_at=res.expires_at,
            lines=tuple(
                HeldLine(
                    sku=ln.sku,
                    location_code=ln.location_code,
                    quantity=ln.quantity,
                    held=ln.held,
                    backordered=ln.backordered,
                    expected_at=ln.expected_at,
                    order_line_id=ln.order_line_id,
                )
                for ln in res.lines
            ),
        )


@dataclass(frozen=True)
class ShortLine:
    """A line of a rejected reservation: what it asked for and what it could have had."""

    sku: str
    requested: int
    available: int
    location_code: str | None


@dataclass(frozen=True)
class ReservationRejected:
    order_id: UUID
    reservation_id: UUID
    short: tuple[ShortLine, ...]

    @classmethod
    def of(cls, res: Reservation) -> ReservationRejected:
        return cls(
            order_id=res.order_id,
            reservation_id=res.id,
            short=tuple(
                ShortLine(
                    sku=ln.sku,
                    requested=ln.quantity,
                    available=ln.available_at_request or 0,
                    location_code=ln.location_code,
                )
                for ln in res.lines
                if ln.available_at_request is not None
            ),
        )


@dataclass(frozen=True)
class ReservationReleased:
    order_id: UUID
    reservation_id: UUID
    reason: str
    remaining_open: int
    changes: tuple[LineChange, ...]

    @classmethod
    def of(
        cls, res: Reservation, changes: Sequence[LineChange], *, reason: str
    ) -> ReservationReleased:
        return cls(res.order_id, res.id, reason, res.open_units, tuple(changes))


@dataclass(frozen=True)
class StockCommitted:
    order_id: UUID
    reservation_id: UUID
    shipment_id: str | None
    changes: tuple[LineChange, ...]

    @classmethod
    def of(
        cls, res: Reservation, changes: Sequence[LineChange], *, shipment_id: str | None
    ) -> StockCommitted:
        return cls(res.order_id, res.id, shipment_id, tuple(changes))


@dataclass(frozen=True)
class AllocatedLine:
    location_code: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class BackorderAllocated:
    order_id: UUID
    reservation_id: UUID
    allocation_id: UUID
    still_backordered: int
    lines: tuple[AllocatedLine, ...]

    @classmethod
    def of(
        cls, res: Reservation, lines: Sequence[AllocatedLine], *, allocation_id: UUID
    ) -> BackorderAllocated:
        return cls(res.order_id, res.id, allocation_id, res.backordered_units, tuple(lines))


@dataclass(frozen=True)
class RepromisedLine:
    sku: str
    location_code: str
    order_line_id: str | None
    backordered: int
    expected_at: datetime | None
    previous_expected_at: datetime | None
    lapsed: int


@dataclass(frozen=True)
class BackorderRepromised:
    order_id: UUID
    reservation_id: UUID
    inbound_id: UUID
    reason: str
    still_backordered: int
    lines: tuple[RepromisedLine, ...]

    @classmethod
    def of(
        cls, res: Reservation, promises: Sequence[Repromise], *, inbound_id: UUID, reason: str
    ) -> BackorderRepromised:
        by_no = {ln.line_no: ln for ln in res.lines}
        return cls(
            order_id=res.order_id,
            reservation_id=res.id,
            inbound_id=inbound_id,
            reason=reason,
            still_backordered=res.backordered_units,
            lines=tuple(
                RepromisedLine(
                    sku=by_no[p.line_no].sku,
                    location_code=by_no[p.line_no].key[0],
                    order_line_id=by_no[p.line_no].order_line_id,
                    backordered=p.backordered,
                    expected_at=p.expected_at,
                    previous_expected_at=p.previous_expected_at,
                    lapsed=p.lapsed,
                )
                for p in promises
            ),
        )


@dataclass(frozen=True)
class StockChanged:
    location_code: str
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    network_available: int
    reasons: tuple[str, ...]

    @classmethod
    def of(cls, touched: TouchedLevel, *, network_available: int) -> StockChanged:
        level = touched.level
        return cls(
            location_code=level.location_code,
            sku=level.sku,
            on_hand=level.on_hand,
            reserved=level.reserved,
            safety_stock=level.safety_stock,
            available=level.available,
            network_available=network_available,
            reasons=tuple(touched.reasons),
        )


@dataclass(frozen=True)
class LocationChanged:
    location: Location  # a copy: the aggregate may change again in this transaction
    change: str
    fields: tuple[str, ...] = ()

    @classmethod
    def of(cls, loc: Location, *, change: str, fields: Sequence[str] = ()) -> LocationChanged:
        return cls(replace(loc), change, tuple(fields))


@dataclass(frozen=True)
class IncomingChanged:
    location_code: str
    sku: str
    deliveries: tuple[OpenDelivery, ...]
    inbound_id: UUID
    reason: str

    @classmethod
    def of(
        cls,
        key: tuple[str, str],
        deliveries: Sequence[OpenDelivery],
        *,
        inbound_id: UUID,
        reason: str,
    ) -> IncomingChanged:
        code, sku = key
        return cls(code, sku, tuple(deliveries), inbound_id, reason)


@dataclass(frozen=True)
class LowStock:
    sku: str
    available: int
    threshold: int | None


@dataclass(frozen=True)
class BackInStock:
    sku: str
    available: int


InventoryEvent = (
    ReservationConfirmed
    | ReservationRejected
    | ReservationReleased
    | StockCommitted
    | BackorderAllocated
    | BackorderRepromised
    | StockChanged
    | LocationChanged
    | IncomingChanged
    | LowStock
    | BackInStock
)
