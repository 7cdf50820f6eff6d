"""What inventory can be asked to do: one frozen dataclass per use case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.inventory.domain.allocation import Request
from services.inventory.domain.locations import Location
from services.inventory.domain.reservation import LinePick, ReleaseReason
from services.inventory.domain.stock import Reason


@dataclass(frozen=True, kw_only=True)
class Idempotent:
    """A creating HTTP request: its Idempotency-Key (if sent) and a hash of its body."""

    idempotency_key: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True, kw_only=True)
class AtCallersLocations:
    """A write at a location on behalf of an HTTP caller: the caller's `locations` claim.
    None (no claim: a back office, the service itself) reaches every location; otherwise a
    location or delivery outside the claim is not found, exactly like one that does not exist.
    """

    caller_locations: frozenset[str] | None = None


# --- locations ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateLocation(Idempotent):
    location: Location


@dataclass(frozen=True, kw_only=True)
class UpdateLocation:
    code: str
    changes: dict[str, Any]
    expected_version: int


# --- stock --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SetStockLevel(AtCallersLocations):
    location_code: str
    sku: str
    on_hand: int
    safety_stock: int | None = None


@dataclass(frozen=True, kw_only=True)
class AdjustStock(Idempotent, AtCallersLocations):
    location_code: str
    sku: str
    delta: int
    reason: Reason
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class SetSkuPolicy:
    sku: str
    low_stock_threshold: int | None


@dataclass(frozen=True, kw_only=True)
class RestockReturn:
    order_id: UUID
    receipt_id: str
    location_code: str
    lines: tuple[tuple[str, int], ...]  # (sku, units whose disposition is restock)


# --- inbound ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateInbound(Idempotent, AtCallersLocations):
    location_code: str
    sku: str
    quantity: int
    expected_at: datetime
    reference: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReceiveInbound(Idempotent, AtCallersLocations):
    inbound_id: UUID
    quantity: int | None = None  # None: everything still expected


@dataclass(frozen=True, kw_only=True)
class CancelInbound(AtCallersLocations):
    inbound_id: UUID


@dataclass(frozen=True, kw_only=True)
class RescheduleInbound(AtCallersLocations):
    inbound_id: UUID
    expected_at: datetime


# --- reservations -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReserveStock(Idempotent):
    order_id: UUID
    requests: tuple[Request, ...]
    reservation_id: UUID | None = None
    allow_backorder: bool = False
    expires_at: datetime | None = None
    priority: int = 0
    ordered_at: datetime | None = None
    # From the HTTP API: a location or SKU inventory does not know is the client's mistake
    # (UnknownLocation, UnknownSku: nothing is written) rather than a shortage to record,
    # and the reservation made is handed back whole, so the answer needs no read-back.
    from_api: bool = False

    @property
    def named_and_on_hand(self) -> bool:
        """Whether the stock rows' conditional updates alone can decide it: every line names
        its location (orchestration's always do) and only stock on hand may serve it. A line
        naming no location must compare the locations' stock, and a backorder must read the
        incoming deliveries and the queue: both decide under locks, first."""
        return not self.allow_backorder and all(r.location_code is not None for r in self.requests)

    @property
    def batchable(self) -> bool:
        """Whether it may share a consumer batch's transaction (libs.bus.message_bus): only
        when the rows it takes are known beforehand, so the batch locks them first, in the
        global order (the unit of work's lock_for)."""
        return self.named_and_on_hand


@dataclass(frozen=True, kw_only=True)
class ConfirmReservation:
    reservation_id: UUID


@dataclass(frozen=True, kw_only=True)
class ReleaseReservation(Idempotent):
    reservation_id: UUID
    picks: tuple[LinePick, ...] | None = None
    reason: ReleaseReason = ReleaseReason.RELEASED
    # From the saga, a release may name a reservation inventory refused (so never made):
    # there is nothing to give back, which is not an error.
    missing_ok: bool = False


@dataclass(frozen=True, kw_only=True)
class ReleaseOrder:
    """An order (or some of its units) was cancelled: give back what its reservations hold."""

    order_id: UUID
    picks: tuple[LinePick, ...] | None


@dataclass(frozen=True, kw_only=True)
class CommitReservation(Idempotent):
    reservation_id: UUID
    picks: tuple[LinePick, ...] | None = None
    shipment_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExpireReservation:
    reservation_id: UUID


# --- imports ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ApplyImport:
    import_id: UUID
