"""Request and response models of the order-capture API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.http.pagination import Page
from services.order_capture.domain import commands

Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-/]+$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4, examples=["19.99"])]


class Channel(StrEnum):
    WEB = "web"
    MOBILE_APP = "mobile_app"
    POS = "pos"
    MARKETPLACE = "marketplace"
    B2B_PORTAL = "b2b_portal"
    PHONE = "phone"
    OTHER = "other"


class Strict(BaseModel):
    # Unknown fields are refused, so a client cannot set status, totals or anything we compute.
    model_config = ConfigDict(extra="forbid")


class CustomerIn(Strict):
    email: str = Field(
        min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$", examples=["ada@example.com"]
    )
    name: str = Field(min_length=1, max_length=200, examples=["Ada Lovelace"])


class OrderLineCreate(Strict):
    sku: Sku = Field(examples=["LAMP-001"])
    quantity: int = Field(gt=0, le=10_000, examples=[2])
    unit_price: Money


class OrderCreate(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "web",
                    "channel_order_ref": "WEB-100234",
                    "currency": "EUR",
                    "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
                    "lines": [{"sku": "LAMP-001", "quantity": 2, "unit_price": "19.99"}],
                }
            ]
        },
    )

    channel: Channel
    channel_order_ref: str = Field(min_length=1, max_length=100, examples=["WEB-100234"])
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])
    customer: CustomerIn
    lines: list[OrderLineCreate] = Field(min_length=1, max_length=500)

    def to_command(self, *, idempotency_key: str | None, fingerprint: str) -> commands.PlaceOrder:
        return commands.PlaceOrder(
            channel=self.channel.value,
            channel_order_ref=self.channel_order_ref,
            currency=self.currency,
            customer_email=self.customer.email,
            customer_name=self.customer.name,
            lines=tuple(commands.NewLine(ln.sku, ln.quantity, ln.unit_price) for ln in self.lines),
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
        )


class OrderLineRead(BaseModel):
    id: UUID
    sku: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class CustomerRead(BaseModel):
    email: str
    name: str


class OrderRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b",
                    "order_number": "OMS-00001000",
                    "channel": "web",
                    "channel_order_ref": "WEB-100234",
                    "status": "pending",
                    "currency": "EUR",
                    "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
                    "lines": [
                        {
                            "id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6c",
                            "sku": "LAMP-001",
                            "quantity": 2,
                            "unit_price": "19.99",
                            "line_total": "39.98",
                        }
                    ],
                    "total_amount": "39.98",
                    "created_at": "2026-11-22T10:15:00Z",
                    "updated_at": "2026-11-22T10:15:00Z",
                }
            ]
        }
    )

    id: UUID
    order_number: str
    channel: Channel
    channel_order_ref: str
    status: str = Field(description="pending, confirmed or backordered (more statuses follow)")
    currency: str
    customer: CustomerRead
    lines: list[OrderLineRead]
    total_amount: Decimal
    created_at: datetime
    updated_at: datetime


OrderPage = Page[OrderRead]
