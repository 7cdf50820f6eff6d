"""Webhook endpoints and their deliveries, as the API reads and writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.http.pagination import Page

Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
EventTypePattern = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[a-z0-9_.*]+$")
]
Channel = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(max_length=500)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=200)]
SECRET_DESCRIPTION = (
    "A signing secret to use instead of a new random one (say, the one a receiver already "
    "verifies with): `whsec_` and the base64 of 24 to 64 bytes, else 422 "
    "`invalid_webhook_secret`"
)

EVENT_TYPES_DESCRIPTION = (
    "The events to send: exact types (`oms.order.placed`), every type under a prefix "
    "(`oms.order.*`), or `*` for all; each must match an event the system publishes on the "
    "order, orchestration, inventory or returns topics (see docs/events.md)"
)
CHANNELS_DESCRIPTION = (
    "Only events of these sales channels' orders (events that belong to no order, such as "
    "stock levels, are then not sent); null: every event. A token narrowed to channels must "
    "name channels within its own"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookEndpointCreate(_Strict):
    url: Url = Field(
        description="Where deliveries are POSTed: https (http only in development); loopback, "
        "private and link-local hosts are refused outside development",
        examples=["https://hooks.example.com/oms"],
    )
    event_types: list[EventTypePattern] = Field(
        min_length=1,
        max_length=50,
        description=EVENT_TYPES_DESCRIPTION,
        examples=[["oms.order.*", "oms.orchestration.fulfillment_shipped"]],
    )
    channels: list[Channel] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description=CHANNELS_DESCRIPTION,
        examples=[["web"]],
    )
    enabled: bool = True
    description: Description = Field(default="", examples=["ERP order feed"])
    secret: Secret | None = Field(default=None, description=SECRET_DESCRIPTION)


class WebhookEndpointUpdate(_Strict):
    """The fields to change; those left out stay as they are (`channels: null` removes the
    filter)."""

    url: Url | None = Field(default=None, examples=["https://hooks.example.com/oms/v2"])
    event_types: list[EventTypePattern] | None = Field(
        default=None, min_length=1, max_length=50, description=EVENT_TYPES_DESCRIPTION
    )
    channels: list[Channel] | None = Field(
        default=None, min_length=1, max_length=50, description=CHANNELS_DESCRIPTION
    )
    enabled: bool | None = Field(
        default=None,
        description="false stops deliveries; true also re-enables an endpoint "
        "the service disabled after failing too long",
    )
    description: Description | None = None


class SecretRotation(_Strict):
    overlap_seconds: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 3600,
        description="How long the current secret stays valid beside the new one (deliveries "
        "carry a signature of each); default 86400 (24 h), 0 ends it at once",
        examples=[86400],
    )
    secret: Secret | None = Field(default=None, description=SECRET_DESCRIPTION)


class SecretRead(BaseModel):
    hint: str = Field(description="The secret's first characters", examples=["whsec_MfKQ…"])
    created_at: datetime
    expires_at: datetime | None = Field(
        description="When a rotated-out secret stops being valid; null for the current one"
    )


class WebhookEndpointRead(BaseModel):
    id: UUID
    url: str = Field(examples=["https://hooks.example.com/oms"])
    event_types: list[str] = Field(examples=[["oms.order.*"]])
    channels: list[str] | None = Field(examples=[["web"]])
    enabled: bool
    description: str
    status: Literal["active", "failing", "disabled"] = Field(
        description="How delivering goes: active, failing (deliveries are being retried) or "
        "disabled (failed too long; set enabled to true to start again)"
    )
    secrets: list[SecretRead] = Field(
        description="The signing secrets in use, the current one first (their values are "
        "shown only when made: by the create and rotate-secret responses)"
    )
    version: int = Field(examples=[1])
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpointRead):
    secret: str = Field(
        description="The current signing secret (Standard Webhooks: whsec_ and base64); shown "
        "only in this response: keep it",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookEndpointPage(Page[WebhookEndpointRead]):
    pass


class DeliveryRead(BaseModel):
    id: UUID
    endpoint_id: UUID
    webhook_id: str = Field(
        description="The event's id, sent as the webhook-id header: the same on every attempt, "
        "so a receiver can drop a repeat"
    )
    event_type: str = Field(examples=["oms.order.placed"])
    aggregate_key: str = Field(description="What the event is about: the order id, or a SKU")
    order_id: UUID | None
    occurred_at: datetime
    status: str = Field(examples=["pending"])
    attempts: int = Field(description="How many attempts were made", examples=[2])
    next_attempt_at: datetime | None = Field(
        description="When the next attempt is due; null once delivered or failed for good"
    )
    created_at: datetime
    last_attempt_at: datetime | None = Field(
        description="When the latest attempt started; null before the first"
    )
    last_status_code: int | None = Field(
        description="What the receiver answered to the latest attempt; null before the first "
        "or when it did not answer",
        examples=[200],
    )
    last_error: str | None = Field(
        description="Why the latest attempt failed; null when it delivered or none was made",
        examples=["answered 500"],
    )
    payload: dict[str, Any] = Field(
        description="What is sent: the CloudEvent, without payment tokens"
    )


class DeliveryPage(Page[DeliveryRead]):
    pass


class DeliveryAttemptRead(BaseModel):
    number: int = Field(description="1 for the first attempt, then 2, 3...", examples=[1])
    started_at: datetime
    status_code: int | None = Field(
        description="What the receiver answered; null: no answer (timed out, refused, not "
        "resolved)",
        examples=[500],
    )
    latency_ms: int = Field(description="How long the attempt took", examples=[84])
    error: str | None = Field(
        description="Why the attempt failed (a status other than 2xx, a redirect, no answer "
        "within the timeout, a connection refused...); null when it delivered",
        examples=["answered 500"],
    )
    response_excerpt: str | None = Field(
        description="The start of the answer's body (1 KB at most); null without an answer",
        examples=['{"error":"busy"}'],
    )


class DeliveryWithAttemptsRead(DeliveryRead):
    attempt_log: list[DeliveryAttemptRead] = Field(
        description="Every attempt made, oldest first (a retry or a replay adds to it)"
    )


class ReplayRead(BaseModel):
    requeued: int = Field(
        description="How many of the endpoint's deliveries are due again", examples=[12]
    )
