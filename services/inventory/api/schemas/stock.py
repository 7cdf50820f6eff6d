"""Stock level, adjustment, ledger and threshold models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.http.fields import Sku
from libs.http.pagination import Page
from services.inventory.api.schemas.locations import Code

Count = Annotated[int, Field(strict=True, ge=0, le=100_000_000)]


class AdjustmentReason(StrEnum):
    RECEIVED = "received"
    DAMAGED = "damaged"
    LOST = "lost"
    FOUND = "found"
    COUNT_CORRECTION = "count_correction"


class StockLevelUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"on_hand": 120, "safety_stock": 5}]}
    )

    on_hand: Count
    safety_stock: Count | None = Field(
        None, description="Units kept back from sale; omitted, it stays as it is"
    )


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "location_code": "WH-BER",
                    "sku": "LAMP-001",
                    "delta": -2,
                    "reason": "damaged",
                    "note": "forklift",
                }
            ]
        },
    )

    location_code: Code
    sku: Sku
    delta: int = Field(
        strict=True,
        ge=-100_000_000,
        le=100_000_000,
        description="Units added (positive) or removed (negative); received and found add, "
        "damaged and lost remove, count_correction goes either way",
    )
    reason: AdjustmentReason
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class LocationStock(BaseModel):
    location_code: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int


class StockRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sku": "LAMP-001",
                    "on_hand": 120,
                    "reserved": 2,
                    "safety_stock": 5,
                    "available": 113,
                    "locations": [
                        {
                            "location_code": "WH-BER",
                            "on_hand": 120,
                            "reserved": 2,
                            "safety_stock": 5,
                            "available": 113,
                        }
                    ],
                }
            ]
        }
    )

    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int = Field(description="on_hand - reserved - safety_stock, per location, never < 0")
    locations: list[LocationStock]


class MovementRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4711,
                    "location_code": "WH-BER",
                    "sku": "LAMP-001",
                    "on_hand_delta": 0,
                    "reserved_delta": 2,
                    "on_hand_after": 120,
                    "reserved_after": 2,
                    "reason": "reserved",
                    "reference": "reservation:0190f0f6-2b5c-7cc2-8a4e-5b6f0c1d2e3f",
                    "note": None,
                    "occurred_at": "2026-11-22T10:15:00Z",
                }
            ]
        }
    )

    id: int
    location_code: str
    sku: str
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    reason: str
    reference: str | None = None
    note: str | None = None
    occurred_at: datetime


MovementPage = Page[MovementRead]


class SkuPolicyUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"low_stock_threshold": 10}]}
    )

    low_stock_threshold: Count | None = Field(
        description="low_stock is announced when the network's available units fall to or "
        "below this; null turns it off"
    )


class SkuPolicyRead(SkuPolicyUpdate):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sku": "LAMP-001", "low_stock_threshold": 10}]}
    )

    sku: str
