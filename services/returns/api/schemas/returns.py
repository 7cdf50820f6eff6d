"""Returns: opening one (staff or self-service), its steps' bodies, and what is read of it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from libs.http.fields import Sku
from libs.http.pagination import Page
from services.returns.api.schemas.common import Code, Email, Money, Strict
from services.returns.domain.parts import Method, ResolutionKind
from services.returns.domain.policy import Condition, Reason

# --- opening a return ----------------------------------------------------------------------


class ReturnLineIn(Strict):
    line_id: UUID
    quantity: int = Field(strict=True, gt=0, le=10_000)
    reason: Reason
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None


class ResolutionIn(Strict):
    type: ResolutionKind
    replacement_sku: Sku | None = Field(None, description="Exchanges: the SKU to send instead")
    replacement_unit_price: Money | None = Field(
        None, description="Exchanges: its price, when it differs from the returned article's"
    )

    @model_validator(mode="after")
    def _exchange_names_a_sku(self) -> ResolutionIn:
        if (self.type is ResolutionKind.EXCHANGE) != (self.replacement_sku is not None):
            raise ValueError("replacement_sku is required for an exchange, and only for one")
        return self


class _ReturnFields(Strict):
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)
    method: Method
    location_code: Code | None = Field(None, description="In-store returns: which store")
    resolution: ResolutionIn = Field(
        default_factory=lambda: ResolutionIn(type=ResolutionKind.REFUND)
    )

    @model_validator(mode="after")
    def _in_store_names_a_store(self) -> _ReturnFields:
        if (self.method is Method.IN_STORE) != (self.location_code is not None):
            raise ValueError("location_code is required for in_store returns, and only for them")
        return self


_RETURN_IN: dict[str, Any] = {
    "order_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b",
    "lines": [
        {
            "line_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6c",
            "quantity": 1,
            "reason": "size_fit",
            "comment": "too small",
        }
    ],
    "method": "mail",
    "resolution": {"type": "refund"},
}


class ReturnCreate(_ReturnFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_RETURN_IN]})

    order_id: UUID


class SelfServiceReturnCreate(_ReturnFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {k: v for k, v in _RETURN_IN.items() if k != "order_id"}
                | {"order_number": "OMS-00001000", "email": "ada@example.com"}
            ]
        },
    )

    order_number: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    email: Email


class RejectBody(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "worn and washed"}]}
    )

    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class ReceivedLineIn(Strict):
    line_id: UUID
    quantity: int = Field(strict=True, gt=0, le=10_000)
    condition: Condition


class ReceiveBody(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "location_code": "WH-BER",
                    "lines": [
                        {
                            "line_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6c",
                            "quantity": 1,
                            "condition": "resellable",
                        }
                    ],
                }
            ]
        },
    )

    location_code: Code
    lines: list[ReceivedLineIn] = Field(min_length=1, max_length=500)


# --- reading -------------------------------------------------------------------------------


class ReturnLineRead(BaseModel):
    line_id: UUID
    sku: str
    quantity: int
    reason: str
    comment: str | None = None
    received: dict[str, int] = Field(description="Units received, by condition")
    settled: int = Field(description="Units whose money or replacement is decided")


class RefundRead(BaseModel):
    id: str
    method: str = Field(description="payment or store_credit")
    status: str = Field(description="requested, succeeded or failed")
    amount: Decimal
    breakdown: dict[str, Any] = Field(description="Per line value and fee, shipping, cap")
    requested_at: datetime
    settled_at: datetime | None = None
    reason: str | None = None


class LabelRead(BaseModel):
    carrier: str
    service: str
    tracking_number: str
    paid_by: str


class ExchangeRead(BaseModel):
    replacement_sku: str
    quantity: int
    unit_price: Decimal
    credit: Decimal
    difference: Decimal = Field(description="Positive: charged on the replacement order")
    status: str = Field(description="pending, placed or failed")
    order_id: UUID | None = None
    reason: str | None = None


class ReceiptRead(BaseModel):
    id: UUID
    location_code: str
    lines: list[dict[str, Any]]
    received_at: datetime


class TimelineRead(BaseModel):
    at: datetime
    name: str
    detail: str


_RETURN_READ: dict[str, Any] = {
    "id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a70",
    "rma_number": "RMA-00001000",
    "order_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b",
    "status": "approved",
    "method": "mail",
    "location_code": None,
    "resolution": {"type": "refund"},
    "currency": "EUR",
    "policy_version": 3,
    "lines": [
        {
            "line_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6c",
            "sku": "LAMP-001",
            "quantity": 1,
            "reason": "size_fit",
            "received": {},
            "settled": 0,
        }
    ],
    "label": {
        "carrier": "DHL",
        "service": "returns",
        "tracking_number": "DHLR004211337000",
        "paid_by": "customer",
    },
    "receipts": [],
    "refunds": [],
    "refunded_amount": "0.00",
    "timeline": [
        {"at": "2026-11-24T10:00:00Z", "name": "requested", "detail": "1 units, refund"},
        {"at": "2026-11-24T10:00:00Z", "name": "approved", "detail": "DHL DHLR004211337000"},
    ],
    "created_at": "2026-11-24T10:00:00Z",
    "updated_at": "2026-11-24T10:00:00Z",
}


class ReturnRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RETURN_READ]})

    id: UUID
    rma_number: str
    order_id: UUID
    status: str = Field(
        description="requested, approved, rejected, in_transit, partially_received, received, "
        "refunded or closed"
    )
    method: str
    location_code: str | None = None
    resolution: dict[str, Any]
    currency: str
    policy_version: int
    lines: list[ReturnLineRead]
    label: LabelRead | None = None
    receipts: list[ReceiptRead]
    refunds: list[RefundRead]
    refunded_amount: Decimal
    exchange: ExchangeRead | None = None
    rejection_reason: str | None = None
    timeline: list[TimelineRead]
    created_at: datetime
    updated_at: datetime


class ReturnPage(Page[ReturnRead]):
    pass
