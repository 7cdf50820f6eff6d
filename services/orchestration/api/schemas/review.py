"""Manual review's rules, and the bodies of approving and rejecting an order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4, examples=["1000.00"])]

RULES_EXAMPLE: dict[str, JsonValue] = {
    "max_order_value": "1000.00",
    "countries_must_match": True,
    "max_risk_score": 80,
    "new_customer_max_value": "250.00",
    "hold_invalid_addresses": True,
}


class ReviewRulesBody(BaseModel):
    """Every rule is off until it has a value; an order any rule matches is held for review
    before anything is reserved or charged."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [RULES_EXAMPLE]})

    max_order_value: Money | None = Field(
        None, description="Review an order whose grand total (its own currency) is above this"
    )
    countries_must_match: bool = Field(
        False, description="Review an order billed in one country and shipped to another"
    )
    max_risk_score: int | None = Field(
        None,
        ge=0,
        le=100,
        description="Review an order whose fraud-check risk score (0-100) is above this; the "
        "check is made only when this is set",
    )
    new_customer_max_value: Money | None = Field(
        None,
        description="Review an order whose grand total (its own currency) is above this when "
        "it is the first the OMS has seen from its customer (by e-mail address, ignoring case)",
    )
    hold_invalid_addresses: bool = Field(
        False,
        description="Review a shipped order whose ship-to address fails the address check "
        "(line 1, city and postal code given, a 2-letter country code, the postal code in its "
        "country's format); the hold's detail names each problem",
    )


class ReviewRulesRead(ReviewRulesBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**RULES_EXAMPLE, "version": 2, "created_at": "2026-12-05T10:00:00Z"}]
        }
    )

    version: int
    created_at: datetime


class ReviewApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=500, examples=["called the customer: genuine"])


class ReviewRejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, examples=["card holder unreachable"])
