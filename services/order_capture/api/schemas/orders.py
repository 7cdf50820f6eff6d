"""Request and response models of the orders resource (/v1/orders)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from libs.http.address import Address
from libs.http.address import AddressRead as SharedAddressRead
from libs.http.fields import Day
from libs.http.pagination import Page
from services.order_capture.api.schemas.fields import (
    Currency,
    Email,
    LocationCode,
    MetadataKey,
    MetadataValue,
    Money,
    Phone,
    Reason,
    Sku,
    Strict,
    Tag,
    Text200,
)
from services.order_capture.domain import commands, values
from services.order_capture.domain.status import OrderStatus
from services.order_capture.domain.values import Channel, DeliveryMethod, Priority, ServiceLevel

OrderNumber = Annotated[str, Field(min_length=1, max_length=40, examples=["OMS-00001000"])]


# --- requests -----------------------------------------------------------------------------


class CustomerIn(Strict):
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="The channel's own customer id", examples=["cus_8842"]
    )
    email: Email
    name: Text200 = Field(examples=["Ada Lovelace"])
    phone: Phone | None = None

    def to_value(self) -> values.Customer:
        return values.Customer(id=self.id, email=self.email, name=self.name, phone=self.phone)


class AddressIn(Address):
    """An address as in every OMS API, and the name of the person it is for."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Ada Lovelace",
                    "line1": "Unter den Linden 1",
                    "city": "Berlin",
                    "postal_code": "10117",
                    "country": "DE",
                    "latitude": 52.5170,
                    "longitude": 13.3889,
                }
            ]
        },
    )

    name: Text200

    def to_value(self) -> values.Address:
        # The domain, the stored order and its events keep their names for the point: lat/lon.
        fields = self.model_dump(exclude={"latitude", "longitude"})
        return values.Address(**fields, lat=self.latitude, lon=self.longitude)


class DeliveryIn(Strict):
    method: DeliveryMethod
    service_level: ServiceLevel = ServiceLevel.STANDARD
    pickup_location_code: LocationCode | None = Field(
        default=None, description="Required with method pickup, refused with ship"
    )

    def to_value(self) -> values.Delivery:
        return values.Delivery(
            method=self.method,
            service_level=self.service_level,
            pickup_location_code=self.pickup_location_code,
        )


class PaymentIn(Strict):
    method: Annotated[
        str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    ] = Field(examples=["card"])
    token: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        default=None, description="A payment provider token; never shown again"
    )
    authorization_ref: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = (
        Field(default=None, description="An authorisation already taken by the channel")
    )
    token_of_order: UUID | None = Field(
        default=None,
        description="Instead of a token: charge the payment token of this earlier order of the "
        "same channel and customer (an exchange's replacement order); 422 "
        "payment_source_unusable when there is no such order with a token",
    )
    amount: Money = Field(description="Must equal the order's grand total")

    @model_validator(mode="after")
    def _token_or_authorization(self) -> PaymentIn:
        if not (self.token or self.authorization_ref or self.token_of_order):
            raise ValueError(
                "either payment.token, payment.authorization_ref or payment.token_of_order"
                " is required"
            )
        return self


class OrderLineCreate(Strict):
    sku: Sku = Field(examples=["LAMP-001"])
    name: Text200 | None = Field(default=None, examples=["Desk lamp"])
    quantity: int = Field(strict=True, gt=0, le=10_000, examples=[2])
    unit_price: Money
    discount_amount: Money = Decimal("0")
    tax_amount: Money = Decimal("0")


class TotalsIn(Strict):
    """Totals as the channel computed them; each one sent must equal ours (else 422)."""

    subtotal: Money | None = None
    discount_total: Money | None = None
    tax_total: Money | None = None
    shipping_amount: Money | None = None
    grand_total: Money | None = None


ORDER_CREATE_EXAMPLE: dict[str, Any] = {
    "channel": "web",
    "channel_order_ref": "WEB-100234",
    "customer": {"email": "ada@example.com", "name": "Ada Lovelace", "phone": "+49 30 1234567"},
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    },
    "delivery": {"method": "ship", "service_level": "standard"},
    "currency": "EUR",
    "lines": [
        {
            "sku": "LAMP-001",
            "name": "Desk lamp",
            "quantity": 2,
            "unit_price": "19.99",
            "discount_amount": "2.00",
            "tax_amount": "7.22",
        }
    ],
    "shipping_amount": "4.90",
    "payment": {"method": "card", "token": "tok_visa_4242", "amount": "50.10"},
    "totals": {"grand_total": "50.10"},
    "tags": ["gift"],
    "metadata": {"campaign": "black-friday"},
}


class OrderCreate(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [ORDER_CREATE_EXAMPLE]}
    )

    channel: Channel
    channel_order_ref: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="The channel's own order id; unique per channel", examples=["WEB-100234"]
    )
    customer: CustomerIn
    shipping_address: AddressIn
    billing_address: AddressIn | None = None
    delivery: DeliveryIn
    currency: Currency
    lines: list[OrderLineCreate] = Field(
        min_length=1,
        max_length=500,
        description="One line per SKU: the same SKU on two lines is refused (422 duplicate_sku)",
    )
    shipping_amount: Money = Decimal("0")
    payment: PaymentIn
    totals: TotalsIn | None = None
    requested_delivery_date: Day | None = Field(
        None,
        description='The day the customer needs the order by ("deliver by"). Orchestration '
        "routes to a location that can deliver by it where one can, else to the best one "
        "(its routing decision says so). A past day is 422 `delivery_date_in_past`; a shipped "
        "order needs the next business day (Monday to Friday) after today at the earliest, "
        "else 422 `delivery_date_unreachable` naming that day; pickup may ask for today",
        examples=["2026-11-26"],
    )
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    metadata: dict[MetadataKey, MetadataValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Up to 50 keys of 40 characters, values up to 500 characters",
    )
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None

    def to_command(self, *, idempotency_key: str | None, fingerprint: str) -> commands.PlaceOrder:
        return commands.PlaceOrder(
            channel=self.channel,
            channel_order_ref=self.channel_order_ref,
            currency=self.currency,
            customer=self.customer.to_value(),
            shipping_address=self.shipping_address.to_value(),
            billing_address=self.billing_address.to_value() if self.billing_address else None,
            delivery=self.delivery.to_value(),
            lines=tuple(
                commands.NewLine(
                    sku=ln.sku,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    discount_amount=ln.discount_amount,
                    tax_amount=ln.tax_amount,
                    name=ln.name,
                )
                for ln in self.lines
            ),
            shipping_amount=self.shipping_amount,
            payment=values.Payment(
                method=self.payment.method,
                amount=self.payment.amount,
                token=self.payment.token,
                authorization_ref=self.payment.authorization_ref,
            ),
            requested_delivery_date=self.requested_delivery_date,
            tags=tuple(self.tags),
            metadata=self.metadata,
            notes=self.notes,
            claimed_totals=self.totals.model_dump(exclude_none=True) if self.totals else {},
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            payment_token_of=self.payment.token_of_order,
        )


class ContactPatch(Strict):
    email: Email | None = None
    name: Text200 | None = None
    phone: Phone | None = None


class OrderPatch(Strict):
    """Only what may change before shipment; every part is optional, absent parts stay."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "shipping_address": {
                        "name": "Ada Lovelace",
                        "line1": "Friedrichstr. 100",
                        "city": "Berlin",
                        "postal_code": "10117",
                        "country": "DE",
                    },
                    "delivery": {"method": "ship", "service_level": "express"},
                    "notes": "Leave with the neighbour",
                }
            ]
        },
    )

    shipping_address: AddressIn | None = None
    delivery: DeliveryIn | None = None
    customer: ContactPatch | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="An empty string clears the notes"
    )

    def to_changes(self) -> values.OrderChanges:
        return values.OrderChanges(
            shipping_address=self.shipping_address.to_value() if self.shipping_address else None,
            delivery=self.delivery.to_value() if self.delivery else None,
            contact=values.ContactChange(**self.customer.model_dump()) if self.customer else None,
            notes=self.notes,
        )


class CancelLine(Strict):
    line_id: UUID
    quantity: int = Field(strict=True, gt=0, le=10_000, examples=[1])


class CancelRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reason": "customer changed their mind"},
                {
                    "reason": "out of stock at the customer's request",
                    "lines": [{"line_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6c", "quantity": 1}],
                },
            ]
        },
    )

    reason: Reason
    lines: list[CancelLine] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Absent: cancel every unit not yet shipped. Present: just these units.",
    )


class PriorityChange(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"priority": "high", "reason": "VIP customer"}]},
    )

    priority: Priority = Field(
        description="high: first in line for incoming stock; normal: as placed"
    )
    reason: Annotated[str, StringConstraints(max_length=500)] = Field(
        default="", description="Why, for the timeline and the event"
    )


# --- responses ----------------------------------------------------------------------------


class LineQuantitiesRead(BaseModel):
    ordered: int
    reserved: int = Field(description="Stock held, not yet in a fulfilment")
    backordered: int = Field(description="Waiting for stock")
    allocated: int = Field(description="In a fulfilment order at a location, not yet shipped")
    shipped: int
    delivered: int
    cancelled: int
    returned: int
    refunded: int


class OrderLineRead(BaseModel):
    id: UUID
    sku: str
    name: str | None = None
    quantity: int
    unit_price: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    line_total: Decimal
    quantities: LineQuantitiesRead


class CustomerRead(BaseModel):
    id: str | None = None
    email: str
    name: str
    phone: str | None = None


class AddressRead(SharedAddressRead):
    """An address as in every OMS API, and the name of the person it is for."""

    name: str

    @classmethod
    def of_stored(cls, data: Mapping[str, Any]) -> AddressRead:
        """From an address as the order stores it (the domain's names: lat/lon)."""
        return cls(
            **{field: data.get(field) for field in cls.model_fields.keys() - _POINT},
            latitude=data.get("lat"),
            longitude=data.get("lon"),
        )


_POINT = {"latitude", "longitude"}


class DeliveryRead(BaseModel):
    method: DeliveryMethod
    service_level: ServiceLevel
    pickup_location_code: str | None = None


class PaymentRead(BaseModel):
    """The payment without its token (a secret of the payment provider)."""

    method: str
    amount: Decimal
    authorization_ref: str | None = None


class TotalsRead(BaseModel):
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    shipping_amount: Decimal
    grand_total: Decimal
    refunded: Decimal = Field(
        description="Money paid back so far: the sum of the refunds on the order"
    )


class ShipmentRead(BaseModel):
    shipment_id: str
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    shipped_at: datetime
    delivered_at: datetime | None = None


ORDER_READ_EXAMPLE: dict[str, Any] = {
    "id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b",
    "order_number": "OMS-00001000",
    "channel": "web",
    "channel_order_ref": "WEB-100234",
    "status": "pending",
    "currency": "EUR",
    "customer": {
        "id": None,
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "phone": "+49 30 1234567",
    },
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "Unter den Linden 1",
        "line2": None,
        "city": "Berlin",
        "postal_code": "10117",
        "region": None,
        "country": "DE",
        "latitude": None,
        "longitude": None,
    },
    "billing_address": None,
    "delivery": {"method": "ship", "service_level": "standard", "pickup_location_code": None},
    "payment": {"method": "card", "amount": "50.10", "authorization_ref": None},
    "lines": [
        {
            "id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6c",
            "sku": "LAMP-001",
            "name": "Desk lamp",
            "quantity": 2,
            "unit_price": "19.99",
            "discount_amount": "2.00",
            "tax_amount": "7.22",
            "line_total": "45.20",
            "quantities": {
                "ordered": 2,
                "reserved": 0,
                "backordered": 0,
                "allocated": 0,
                "shipped": 0,
                "delivered": 0,
                "cancelled": 0,
                "returned": 0,
                "refunded": 0,
            },
        }
    ],
    "totals": {
        "subtotal": "39.98",
        "discount_total": "2.00",
        "tax_total": "7.22",
        "shipping_amount": "4.90",
        "grand_total": "50.10",
        "refunded": "0.00",
    },
    "requested_delivery_date": None,
    "tags": ["gift"],
    "metadata": {"campaign": "black-friday"},
    "notes": None,
    "shipments": [],
    "version": 1,
    "created_at": "2026-11-22T10:15:00Z",
    "updated_at": "2026-11-22T10:15:00Z",
}


class OrderRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ORDER_READ_EXAMPLE]})

    id: UUID
    order_number: str
    channel: Channel
    channel_order_ref: str
    status: OrderStatus = Field(description="Derived from the lines' quantities (see README)")
    currency: str
    customer: CustomerRead
    shipping_address: AddressRead
    billing_address: AddressRead | None = None
    delivery: DeliveryRead
    payment: PaymentRead
    lines: list[OrderLineRead]
    totals: TotalsRead
    requested_delivery_date: Day | None = Field(
        None, description='The day the customer needs the order by ("deliver by")'
    )
    tags: list[str]
    metadata: dict[str, str]
    notes: str | None = None
    priority: Priority = Field(
        Priority.NORMAL, description="high orders are first in line for incoming stock"
    )
    shipments: list[ShipmentRead]
    version: int = Field(description="Also the ETag; send it in If-Match to PATCH")
    created_at: datetime
    updated_at: datetime


OrderPage = Page[OrderRead]
