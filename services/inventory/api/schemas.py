"""Request and response models of the inventory API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Code = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-/]+$")
]


class StockLevelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"on_hand": 120}]})

    on_hand: int = Field(ge=0, le=100_000_000)


class LocationStock(BaseModel):
    location_code: str
    on_hand: int
    reserved: int
    available: int


class StockRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sku": "LAMP-001",
                    "on_hand": 120,
                    "reserved": 2,
                    "available": 118,
                    "locations": [
                        {"location_code": "WH-BER", "on_hand": 120, "reserved": 2, "available": 118}
                    ],
                }
            ]
        }
    )

    sku: str
    on_hand: int
    reserved: int
    available: int
    locations: list[LocationStock]


class ReservationLineRead(BaseModel):
    sku: str
    location_code: str
    quantity: int


class ReservationRead(BaseModel):
    id: UUID
    order_id: UUID
    status: str
    created_at: datetime
    lines: list[ReservationLineRead]


class ReservationList(BaseModel):
    items: list[ReservationRead]
