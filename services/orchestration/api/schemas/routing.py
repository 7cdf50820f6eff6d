"""The routing strategy and delivery promises."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from libs.http.address import Latitude, Longitude
from libs.http.fields import Country, Day, Sku
from services.orchestration.domain.routing.model import NoRoutePolicy


class WeightsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    distance: float = Field(1.0, strict=True, ge=0, le=100)
    shipping_cost: float = Field(1.0, strict=True, ge=0, le=100)
    priority: float = Field(0.5, strict=True, ge=0, le=100)
    parts: float = Field(2.0, strict=True, ge=0, le=100)
    stock_depth: float = Field(0.25, strict=True, ge=0, le=100)


STRATEGY_EXAMPLE: dict[str, Any] = {
    "weights": {
        "distance": 1.0,
        "shipping_cost": 1.0,
        "priority": 0.5,
        "parts": 2.0,
        "stock_depth": 0.25,
    },
    "max_parts": 3,
    "allowed_destinations": {"STORE-MUC": ["DE", "AT"]},
    "no_route_policy": "reject",
    "channel_policies": {"marketplace": "backorder"},
}


class StrategyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [STRATEGY_EXAMPLE]})

    weights: WeightsBody = WeightsBody()
    max_parts: int = Field(
        3, strict=True, ge=1, le=10, description="At most this many fulfilment orders"
    )
    allowed_destinations: dict[str, list[Country]] = Field(
        default_factory=dict,
        max_length=1000,
        description="Location code -> countries it may ship to; a location not named ships "
        "anywhere",
    )
    no_route_policy: NoRoutePolicy = Field(
        NoRoutePolicy.REJECT, description="When nothing can serve from stock now"
    )
    channel_policies: dict[str, NoRoutePolicy] = Field(default_factory=dict, max_length=100)


class StrategyRead(StrategyBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**STRATEGY_EXAMPLE, "version": 2, "created_at": "2026-11-22T10:15:00Z"}]
        }
    )

    version: int
    created_at: datetime


class PromiseLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: int = Field(strict=True, gt=0, le=100_000)


class PromiseDestination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: Country
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class PromiseRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lines": [{"sku": "LAMP-001", "quantity": 2}],
                    "ship_to": {"country": "DE", "latitude": 52.52, "longitude": 13.405},
                    "service_level": "standard",
                    "requested_delivery_date": "2026-11-26",
                }
            ]
        },
    )

    lines: list[PromiseLine] = Field(min_length=1, max_length=100)
    ship_to: PromiseDestination
    service_level: str | None = Field(None, max_length=40, description="Omitted: every level")
    requested_delivery_date: Day | None = Field(
        None,
        description='The day the customer needs the order by ("deliver by"): locations that '
        "can deliver by it are preferred, as for an order, and each option says whether it "
        "does (meets_requested_date)",
    )


class PromisedPartRead(BaseModel):
    location_code: str
    carrier: str
    service: str
    ship_date: date
    delivery_date: date
    skus: list[str]


class PromiseOptionRead(BaseModel):
    service_level: str
    parts: list[PromisedPartRead]
    earliest_ship_date: date
    delivery_date: date
    explanation: str
    meets_requested_date: bool | None = Field(
        None,
        description="Whether it arrives by the requested delivery date; null when none was sent",
    )


class PromiseRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "strategy_version": 1,
                    "options": [
                        {
                            "service_level": "standard",
                            "parts": [
                                {
                                    "location_code": "WH-BER",
                                    "carrier": "dhl",
                                    "service": "paket",
                                    "ship_date": "2026-11-23",
                                    "delivery_date": "2026-11-25",
                                    "skus": ["LAMP-001"],
                                }
                            ],
                            "earliest_ship_date": "2026-11-23",
                            "delivery_date": "2026-11-25",
                            "explanation": "WH-BER: nearest location with all 1 lines in stock.",
                            "meets_requested_date": True,
                        }
                    ],
                }
            ]
        }
    )

    strategy_version: int
    options: list[PromiseOptionRead] = Field(description="Empty when nothing can be promised")


Amount = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2, examples=["4.99"])]


class CarrierServiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    carrier: Annotated[str, Field(min_length=1, max_length=40, examples=["dhl"])]
    service: Annotated[str, Field(min_length=1, max_length=40, examples=["paket"])]
    level: Annotated[
        str,
        Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$", examples=["standard"]),
    ]
    base_price: Amount
    per_100km: Amount
    international_surcharge: Amount
    transit_days: int = Field(ge=0, le=60, description="Business days, domestic")
    international_transit_days: int = Field(ge=0, le=60)


class RateTableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
    services: list[CarrierServiceBody] = Field(min_length=1, max_length=200)


class CarrierServiceRead(BaseModel):
    carrier: str
    service: str
    level: str
    base_price: Decimal
    per_100km: Decimal
    international_surcharge: Decimal
    transit_days: int
    international_transit_days: int


class RateTableRead(BaseModel):
    # Its own model, not the body's: an input and an output model of one name would be two
    # schemas (Decimal reads a number or a string, but is written as a string).
    currency: str
    services: list[CarrierServiceRead]
    levels: list[str] = Field(description="The service levels offered, standard first")
    version: int
    created_at: datetime
