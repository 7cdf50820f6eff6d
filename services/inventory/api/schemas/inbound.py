"""Incoming stock models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.http.fields import Sku, Timestamp
from libs.http.pagination import Page
from services.inventory.api.schemas.locations import Code
from services.inventory.domain.inbound import InboundStatus

Quantity = Annotated[int, Field(strict=True, gt=0, le=100_000_000)]

_INBOUND: dict[str, Any] = {
    "location_code": "WH-BER",
    "sku": "LAMP-001",
    "quantity": 200,
    "expected_at": "2026-12-01T08:00:00Z",
    "reference": "PO-2026-0042",
}


class InboundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_INBOUND]})

    location_code: Code
    sku: Sku
    quantity: Quantity
    expected_at: Timestamp = Field(description="RFC 3339 with offset")
    reference: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="The purchase order or ASN number"
    )


class InboundReceive(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"quantity": 150}]})

    quantity: Quantity | None = Field(None, description="Omitted: everything still expected")


class InboundReschedule(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"expected_at": "2026-12-08T08:00:00Z"}]}
    )

    expected_at: Timestamp = Field(description="When the rest is expected now; RFC 3339")


class InboundRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _INBOUND
                | {
                    "id": "0190f0f6-2b5c-7cc2-8a4e-5b6f0c1d2e3f",
                    "received_quantity": 150,
                    "cancelled_quantity": 0,
                    "remaining": 50,
                    "status": "open",
                    "created_at": "2026-11-22T10:15:00Z",
                    "updated_at": "2026-11-23T09:00:00Z",
                }
            ]
        }
    )

    id: UUID
    location_code: str
    sku: str
    quantity: int
    received_quantity: int
    cancelled_quantity: int
    remaining: int
    expected_at: datetime
    reference: str | None = None
    status: InboundStatus
    created_at: datetime
    updated_at: datetime


InboundPage = Page[InboundRead]
