"""Return rates and the time to refund."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RateRead(BaseModel):
    key: str
    returned_units: int
    delivered_units: int
    rate: float = Field(description="Returned units per delivered unit")


class AnalyticsRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "returns": 12,
                    "returned_units": 15,
                    "delivered_units": 300,
                    "by_reason": [
                        {
                            "key": "size_fit",
                            "returned_units": 9,
                            "delivered_units": 300,
                            "rate": 0.03,
                        }
                    ],
                    "by_sku": [
                        {
                            "key": "LAMP-001",
                            "returned_units": 4,
                            "delivered_units": 80,
                            "rate": 0.05,
                        }
                    ],
                    "by_channel": [
                        {"key": "web", "returned_units": 15, "delivered_units": 300, "rate": 0.05}
                    ],
                    "average_hours_to_refund": 30.5,
                }
            ]
        }
    )

    returns: int
    returned_units: int
    delivered_units: int
    by_reason: list[RateRead]
    by_sku: list[RateRead]
    by_channel: list[RateRead]
    average_hours_to_refund: float | None = Field(
        None, description="From the request to the first refund paid; null before any"
    )
