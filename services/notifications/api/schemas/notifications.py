"""Customer notifications (the ledger) and the opt-outs, as the API reads and writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.http.pagination import Page

Kind = Literal[
    "order_confirmed",
    "shipped",
    "ready_for_pickup",
    "delivered",
    "delayed",
    "cancelled",
    "return_approved",
    "refund_issued",
]


class NotificationRead(BaseModel):
    id: UUID
    order_id: UUID
    kind: Kind
    business_key: str = Field(
        description="What makes it once: the order (order_confirmed), the shipment (shipped, "
        "delivered), the delay, the cancellation, the return or the refund",
        examples=["4b1c9a52-0f3e-4c55-9d7a-3f4b2f0f6e11"],
    )
    medium: Literal["email", "sms"] = Field(
        description="email, or sms: the kinds texted (shipped, ready_for_pickup, delayed, "
        "delivered by default) go by SMS too to a customer who gave a phone number, each "
        "medium a notification of its own"
    )
    recipient: str | None = Field(
        description="The customer's e-mail address (email) or phone number in E.164 (sms); "
        "null until the order's placement is seen",
        examples=["ann@example.com"],
    )
    language: str | None = Field(examples=["de"])
    status: Literal["pending", "sent", "failed", "suppressed"] = Field(
        description="pending (to be sent, or tried again at next_attempt_at), sent, failed "
        "(refused for good, or too many failed tries; last_error says why) or suppressed (the "
        "order or its customer opted out: never sent)"
    )
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    message_id: str | None = Field(
        description="The e-mail's Message-ID, the same for every send of the notification; "
        "for an SMS the provider's reference of its last send",
        examples=["<0b8e5c1e-6f0a-4f5c-9a53-3c0f0f6f2e11@shop.example.com>"],
    )
    event_type: str = Field(
        description="The event that caused it", examples=["oms.orchestration.fulfillment_shipped"]
    )
    created_at: datetime
    sent_at: datetime | None


class NotificationPage(Page[NotificationRead]):
    pass


class NotificationPreferenceWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opted_out: bool = Field(
        description="true: the order's notifications are recorded as suppressed, not sent; "
        "false: sent again from now on"
    )
    whole_customer: bool = Field(
        default=False,
        description="Also for every order of the order's customer (by e-mail address), "
        "present and future; needs the order to have been seen placed (else 404 order_not_found)",
    )


class NotificationPreferenceRead(BaseModel):
    order_id: UUID
    order_opted_out: bool
    customer_opted_out: bool = Field(
        description="The order's customer (by e-mail address) opted out of every order's "
        "notifications; false while the order is not known"
    )
