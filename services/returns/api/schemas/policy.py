"""The return policy: the body of a PUT and what a GET reads."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from libs.http.fields import Sku
from services.returns.api.schemas.common import Money, Percent, Strict
from services.returns.domain.policy import Condition, Disposition, Payer, Reason, RefundTiming

_POLICY: dict[str, Any] = {
    "window_days": 30,
    "non_returnable_skus": ["GIFTCARD-50"],
    "non_returnable_tags": ["final-sale"],
    "restocking_fee_percent": {"changed_mind": "10"},
    "return_shipping_payer": {
        "damaged": "merchant",
        "wrong_item": "merchant",
        "not_as_described": "merchant",
        "size_fit": "customer",
        "changed_mind": "customer",
        "other": "customer",
    },
    "return_shipping_fee": "4.95",
    "refund_shipping_for": ["damaged", "not_as_described", "wrong_item"],
    "refund_timing": "on_receipt",
    "max_returns_per_order": 5,
    "review_reasons": [],
    "review_above_amount": "500.00",
    "disposition": {"resellable": "restock", "damaged": "write_off", "defective": "quarantine"},
    "return_carrier": "DHL",
    "return_service": "returns",
}


class PolicyBody(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_POLICY]})

    window_days: int = Field(30, strict=True, ge=0, le=3650, description="Days after delivery")
    non_returnable_skus: list[Sku] = Field(default_factory=list, max_length=1000)
    non_returnable_tags: list[Annotated[str, StringConstraints(max_length=50)]] = Field(
        default_factory=list, max_length=100, description="Orders with such a tag are final"
    )
    restocking_fee_percent: dict[Reason, Percent] = Field(default_factory=dict)
    return_shipping_payer: dict[Reason, Payer] = Field(
        default_factory=dict, description="Who pays the parcel back; unnamed reasons: customer"
    )
    return_shipping_fee: Money = Field(
        Decimal("0"), description="Kept from the refund when the customer pays the parcel"
    )
    refund_shipping_for: list[Reason] = Field(
        default_factory=list, description="Reasons for which the order's shipping is paid back"
    )
    refund_timing: RefundTiming = RefundTiming.ON_RECEIPT
    max_returns_per_order: int = Field(5, strict=True, ge=1, le=100)
    review_reasons: list[Reason] = Field(
        default_factory=list, description="Returns with these reasons wait for a person"
    )
    review_above_amount: Money | None = Field(
        None, description="Returns worth more wait for a person"
    )
    disposition: dict[Condition, Disposition] = Field(default_factory=dict)
    return_carrier: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "DHL"
    return_service: Annotated[str, StringConstraints(min_length=1, max_length=40)] = "returns"


class PolicyRead(PolicyBody):
    model_config = ConfigDict(json_schema_extra={"examples": [_POLICY | {"version": 3}]})

    version: int
    created_at: datetime | None = None
