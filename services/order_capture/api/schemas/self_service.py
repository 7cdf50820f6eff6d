"""Request and response models of self-service (/v1/self-service/orders): the customer's own
view of an order, proven by its number and e-mail."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from services.order_capture.api.schemas.fields import Email, Reason, Strict
from services.order_capture.domain.status import OrderStatus


class SelfServiceCancel(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ada@example.com", "reason": "ordered twice"}]},
    )

    email: Email
    reason: Reason = "cancelled by the customer"


class SelfServiceLine(BaseModel):
    sku: str
    name: str | None = None
    quantity: int
    shipped: int
    delivered: int
    cancelled: int
    returned: int


class SelfServiceTracking(BaseModel):
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    shipped_at: datetime
    delivered_at: datetime | None = None


class SelfServiceOrderRead(BaseModel):
    """What a customer sees with order number and e-mail: status, lines, tracking."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_number": "OMS-00001000",
                    "status": "shipped",
                    "lines": [
                        {
                            "sku": "LAMP-001",
                            "name": "Desk lamp",
                            "quantity": 2,
                            "shipped": 2,
                            "delivered": 0,
                            "cancelled": 0,
                            "returned": 0,
                        }
                    ],
                    "tracking": [
                        {
                            "carrier": "dhl",
                            "tracking_number": "00340434161094042557",
                            "tracking_url": None,
                            "shipped_at": "2026-11-23T08:00:00Z",
                            "delivered_at": None,
                        }
                    ],
                }
            ]
        }
    )

    order_number: str
    status: OrderStatus
    lines: list[SelfServiceLine]
    tracking: list[SelfServiceTracking]
