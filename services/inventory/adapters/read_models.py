"""What inventory's read-side queries return: plain rows of the read side, in the shape of
the API's responses, which the routes validate into their response schemas (adapters never
import the api). One field for each field of the response it becomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Generic, TypeVar
from uuid import UUID

T = TypeVar("T")


@dataclass(frozen=True)
class PageOf(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class LocationView:
    code: str
    name: str
    type: str
    address: dict[str, Any]
    capabilities: list[str]
    priority: int
    daily_order_capacity: int | None
    processing_days: int
    cutoff_time: time | None
    timezone: str
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LocationStockView:
    location_code: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int


@dataclass(frozen=True)
class StockView:
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    locations: list[LocationStockView]


@dataclass(frozen=True)
class MovementView:
    id: int
    location_code: str
    sku: str
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    reason: str
    reference: str | None
    note: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class SkuPolicyView:
    sku: str
    low_stock_threshold: int | None


@dataclass(frozen=True)
class InboundView:
    id: UUID
    location_code: str
    sku: str
    quantity: int
    received_quantity: int
    cancelled_quantity: int
    remaining: int
    expected_at: datetime
    reference: str | None
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ReservationLineView:
    line_no: int
    sku: str
    location_code: str | None
    line_id: str | None
    quantity: int
    held: int
    backordered: int
    committed: int
    released: int
    expected_at: datetime | None
    available_at_request: int | None


@dataclass(frozen=True)
class ReservationView:
    id: UUID
    order_id: UUID
    status: str
    allow_backorder: bool
    priority: int
    ordered_at: datetime
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lines: list[ReservationLineView]


@dataclass(frozen=True)
class ImportErrorView:
    line_number: int
    message: str


@dataclass(frozen=True)
class ImportSummaryView:
    id: UUID
    status: str
    mode: str
    format: str
    rows_received: int
    rows_invalid: int
    rows_applied: int
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class ImportView(ImportSummaryView):
    errors: list[ImportErrorView]
    errors_next_cursor: str | None


@dataclass(frozen=True)
class DriftView:
    location_code: str
    sku: str
    check: str
    expected: int
    actual: int


@dataclass(frozen=True)
class InvariantsView:
    ok: bool
    checked_at: datetime
    stock_rows: int
    drift: list[DriftView]
