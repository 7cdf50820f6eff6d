"""Reservation models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.http.fields import Sku, Timestamp
from libs.http.pagination import Page
from services.inventory.api.schemas.locations import Code
from services.inventory.domain.allocation import Request
from services.inventory.domain.reservation import LinePick, Reservation, ReservationStatus

Quantity = Annotated[int, Field(strict=True, gt=0, le=1_000_000)]
RESERVATION_ID = "0190f0f6-2b5c-7cc2-8a4e-5b6f0c1d2e3f"
ORDER_ID = "0190f0f5-9a1b-7c3d-8e4f-5a6b7c8d9e0f"


class ReservationLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Quantity
    location_code: Code | None = Field(
        None,
        description="Where to reserve; omitted, the active shipping location with the "
        "most available units serves the whole line",
    )
    line_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="The order line this serves; echoed in events"
    )

    def to_request(self) -> Request:
        return Request(self.sku, self.quantity, self.location_code, self.line_id)


class ReservationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "order_id": ORDER_ID,
                    "lines": [{"sku": "LAMP-001", "quantity": 2, "location_code": "WH-BER"}],
                    "allow_backorder": False,
                    "expires_at": None,
                }
            ]
        },
    )

    order_id: UUID
    lines: list[ReservationLineIn] = Field(min_length=1, max_length=500)
    allow_backorder: bool = Field(
        False,
        strict=True,
        description="Promise what is short from incoming stock at the same location",
    )
    expires_at: Timestamp | None = Field(
        None, description="A temporary hold: released then unless confirmed"
    )
    priority: int = Field(
        0, strict=True, ge=0, le=100, description="Backorder queue priority; higher first"
    )
    ordered_at: Timestamp | None = Field(
        None, description="The order's time; backorders are served in this order"
    )


class LinePickIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Quantity
    location_code: Code | None = None

    def to_pick(self) -> LinePick:
        return LinePick(self.sku, self.quantity, self.location_code)


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"lines": [{"sku": "LAMP-001", "quantity": 1}]}]},
    )

    lines: list[LinePickIn] | None = Field(
        None, min_length=1, description="Omitted: release every open unit"
    )


class CommitRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"lines": [{"sku": "LAMP-001", "quantity": 2}], "shipment_id": "SHP-1001"}]
        },
    )

    lines: list[LinePickIn] | None = Field(
        None, min_length=1, description="Omitted: commit every held unit"
    )
    shipment_id: Annotated[str, StringConstraints(max_length=100)] | None = None


class ReservationLineRead(BaseModel):
    line_no: int
    sku: str
    location_code: str | None = None
    line_id: str | None = None
    quantity: int
    held: int
    backordered: int
    committed: int
    released: int
    expected_at: datetime | None = Field(None, description="When backordered units are expected")
    available_at_request: int | None = Field(
        None, description="On a rejected reservation's short line: what could have been reserved"
    )


_READ: dict[str, Any] = {
    "id": RESERVATION_ID,
    "order_id": ORDER_ID,
    "status": "confirmed",
    "allow_backorder": False,
    "priority": 0,
    "ordered_at": "2026-11-22T10:15:00Z",
    "expires_at": None,
    "created_at": "2026-11-22T10:15:01Z",
    "updated_at": "2026-11-22T10:15:01Z",
    "lines": [
        {
            "line_no": 1,
            "sku": "LAMP-001",
            "location_code": "WH-BER",
            "line_id": None,
            "quantity": 2,
            "held": 2,
            "backordered": 0,
            "committed": 0,
            "released": 0,
            "expected_at": None,
            "available_at_request": None,
        }
    ],
}


class ReservationRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_READ]})

    id: UUID
    order_id: UUID
    status: ReservationStatus
    allow_backorder: bool
    priority: int
    ordered_at: datetime
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    lines: list[ReservationLineRead]

    @classmethod
    def of(cls, res: Reservation) -> ReservationRead:
        """A reservation just made, as reading it back would show it (times in UTC, as the
        database gives them)."""
        return cls(
            id=res.id,
            order_id=res.order_id,
            status=res.status,
            allow_backorder=res.allow_backorder,
            priority=res.priority,
            ordered_at=res.ordered_at.astimezone(UTC),
            expires_at=_utc(res.expires_at),
            created_at=res.created_at.astimezone(UTC),
            updated_at=res.created_at.astimezone(UTC),
            lines=[
                ReservationLineRead(
                    line_no=ln.line_no,
                    sku=ln.sku,
                    location_code=ln.location_code,
                    line_id=ln.order_line_id,
                    quantity=ln.quantity,
                    held=ln.held,
                    backordered=ln.backordered,
                    committed=ln.committed,
                    released=ln.released,
                    expected_at=_utc(ln.expected_at),
                    available_at_request=ln.available_at_request,
                )
                for ln in res.lines
            ],
        )


def _utc(at: datetime | None) -> datetime | None:
    return at.astimezone(UTC) if at is not None else None


ReservationPage = Page[ReservationRead]
