"""Available-to-promise and invariant-check models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from libs.http.fields import Country, Sku
from services.inventory.domain.locations import LocationType


class AvailabilityRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"skus": ["LAMP-001", "SHADE-RED"], "country": "DE"}]},
    )

    skus: list[Sku] = Field(min_length=1, max_length=1000)
    country: Country | None = Field(None, description="Only locations in this country")
    location_type: LocationType | None = None


class LocationAvailability(BaseModel):
    location_code: str
    location_type: LocationType
    country: str
    on_hand: int
    reserved: int
    available: int


class IncomingStock(BaseModel):
    inbound_id: str
    location_code: str
    quantity: int = Field(description="Units still expected")
    expected_at: datetime


class SkuAvailability(BaseModel):
    sku: str
    available: int = Field(description="Available now at every matching active location")
    locations: list[LocationAvailability]
    incoming: list[IncomingStock]
    backordered: int = Field(description="Units already promised to waiting orders")


class AvailabilityRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "sku": "LAMP-001",
                            "available": 113,
                            "locations": [
                                {
                                    "location_code": "WH-BER",
                                    "location_type": "warehouse",
                                    "country": "DE",
                                    "on_hand": 120,
                                    "reserved": 2,
                                    "available": 113,
                                }
                            ],
                            "incoming": [
                                {
                                    "inbound_id": "0190f0f6-2b5c-7cc2-8a4e-5b6f0c1d2e3f",
                                    "location_code": "WH-BER",
                                    "quantity": 200,
                                    "expected_at": "2026-12-01T08:00:00Z",
                                }
                            ],
                            "backordered": 0,
                        }
                    ]
                }
            ]
        }
    )

    items: list[SkuAvailability]


class SkuAvailabilityCompact(BaseModel):
    sku: str
    available: int = Field(description="Available now at every matching active location")
    location_index: list[int] = Field(
        description="Where the SKU is held: indexes into the answer's `locations`, in no "
        "particular order"
    )
    location_available: list[int] = Field(
        description="Available units at each of those locations: `location_available[i]` "
        "at `locations[location_index[i]]`"
    )
    incoming: list[IncomingStock]
    backordered: int = Field(description="Units already promised to waiting orders")


class AvailabilityCompactRead(BaseModel):
    """GET /availability's answer with each location named once: a SKU's units at
    `locations[location_index[i]]` are `location_available[i]`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "locations": ["STORE-MUC", "WH-BER"],
                    "items": [
                        {
                            "sku": "LAMP-001",
                            "available": 118,
                            "location_index": [0, 1],
                            "location_available": [5, 113],
                            "incoming": [
                                {
                                    "inbound_id": "0190f0f6-2b5c-7cc2-8a4e-5b6f0c1d2e3f",
                                    "location_code": "WH-BER",
                                    "quantity": 200,
                                    "expected_at": "2026-12-01T08:00:00Z",
                                }
                            ],
                            "backordered": 0,
                        }
                    ],
                }
            ]
        }
    )

    locations: list[str] = Field(
        description="The matching active locations holding any of the SKUs, by code"
    )
    items: list[SkuAvailabilityCompact]


class Drift(BaseModel):
    location_code: str
    sku: str
    check: str = Field(description="Which rule broke, e.g. on_hand_equals_ledger")
    expected: int
    actual: int


class InvariantsRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "checked_at": "2026-11-22T10:15:00Z",
                    "stock_rows": 1520,
                    "drift": [],
                }
            ]
        }
    )

    ok: bool
    checked_at: datetime
    stock_rows: int = Field(description="Stock rows checked")
    drift: list[Drift]
