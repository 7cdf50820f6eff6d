"""Fulfilment orders and the bodies of the actions a location's system reports."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.http.pagination import Page


class FulfillmentLineRead(BaseModel):
    line_id: str
    sku: str
    quantity: int = Field(description="Units this location still owes")
    cancelled: int
    short: int = Field(description="Units it could not find when picking (re-routed)")


class ShipmentRead(BaseModel):
    shipment_id: str
    carrier: str
    service: str | None = None
    tracking_number: str
    tracking_url: str | None = None
    shipped_at: datetime


class FulfillmentRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a4c1e-9e3b-7c6a-9f00-3b1d2e4f5a6c",
                    "order_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b",
                    "order_number": "OMS-00001000",
                    "location_code": "WH-BER",
                    "method": "ship",
                    "status": "packed",
                    "allowed_actions": ["ship"],
                    "lines": [
                        {
                            "line_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a01",
                            "sku": "LAMP-001",
                            "quantity": 2,
                            "cancelled": 0,
                            "short": 0,
                        }
                    ],
                    "reason": None,
                    "shipment": None,
                    "history": [{"status": "created", "at": "2026-11-22T10:15:02Z", "note": ""}],
                    "created_at": "2026-11-22T10:15:02Z",
                    "updated_at": "2026-11-22T11:40:00Z",
                }
            ]
        }
    )

    id: UUID
    order_id: UUID
    order_number: str
    location_code: str
    method: str = Field(description="ship, or pickup for click & collect")
    status: str
    allowed_actions: list[str] = Field(description="What may be reported next")
    lines: list[FulfillmentLineRead]
    reason: str | None = Field(None, description="Why it was rejected or cancelled")
    shipment: ShipmentRead | None = None
    history: list[dict[str, str]]
    created_at: datetime
    updated_at: datetime


class FulfillmentPage(Page[FulfillmentRead]):
    pass


class RejectBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "shelf damaged"}]}
    )

    reason: str = Field(min_length=1, max_length=500)


class PickedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(
        strict=True, ge=0, le=1_000_000, description="Units found; fewer is a short pick"
    )


class PickBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"lines": [{"line_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a01", "quantity": 1}]}
            ]
        },
    )

    lines: list[PickedLine] | None = Field(
        None, max_length=500, description="Omitted: every unit was found"
    )


class ShipBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"carrier": "dhl", "service": "paket", "tracking_number": "00340434161094042557"},
                {},
            ]
        },
    )

    carrier: str | None = Field(
        None, min_length=1, max_length=40, description="Omitted: the carrier selector chooses"
    )
    service: str | None = Field(None, min_length=1, max_length=40)
    tracking_number: str | None = Field(
        None, pattern=r"^[A-Za-z0-9]{6,40}$", description="Omitted: one is assigned"
    )
    tracking_url: str | None = Field(None, max_length=500)
