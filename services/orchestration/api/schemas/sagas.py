"""Read models of sagas, routing decisions and payment operations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.http.pagination import Page
from services.orchestration.domain.saga import HoldReason


class SagaStepRead(BaseModel):
    name: str
    at: datetime
    detail: str


class PaymentSummary(BaseModel):
    status: str = Field(description="none, pending, authorized or declined")
    currency: str
    authorized: Decimal
    captured: Decimal
    voided: Decimal
    refunded: Decimal


class HoldRead(BaseModel):
    hold_id: UUID = Field(description="Names the hold in order_on_hold and order_hold_released")
    reason: HoldReason = Field(
        description="unroutable, payment_declined, review, manual or backorder_lapsed"
    )
    detail: str = Field(examples=["no location can serve it: no stock of SKU-1 anywhere"])
    since: datetime
    ways_out: list[str] = Field(description="What releases it")


class HeldOrder(HoldRead):
    order_id: UUID
    order_number: str
    channel: str


class HoldPage(Page[HeldOrder]):
    pass


class HoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(
        default="",
        max_length=500,
        description="Why: kept on the saga's steps, the timeline and the event",
        examples=["customer asked to wait until Monday"],
    )


class PaymentMethodBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(
        min_length=1,
        max_length=200,
        description="The payment provider's token of the new payment method",
        examples=["tok_visa"],
    )


class SagaSummary(BaseModel):
    order_id: UUID
    order_number: str
    channel: str = Field(description="The order's sales channel", examples=["web"])
    state: str = Field(
        description="routing, waiting_for_stock, reserving, backordered, authorizing, "
        "fulfilling, completed, on_hold or cancelled"
    )
    state_since: datetime = Field(
        description="When the saga entered its state (its age in it is now minus this)"
    )
    waiting_for: str | None = Field(
        description="What it waits for in its state: routing (the worker plans it), stock "
        "(no location can serve it yet), reservation (inventory's answer), incoming_stock "
        "(backordered units), payment (the authorisation), fulfilment (the locations), "
        "release (on hold: GET /holds says why); null once completed or cancelled",
        examples=["incoming_stock"],
    )
    stuck: bool = Field(description="Waiting longer than its step allows")
    started_at: datetime
    updated_at: datetime
    due_at: datetime | None = Field(None, description="When the worker acts on it next")
    deadline_at: datetime | None = Field(None, description="When its current wait is overdue")


class SagaRead(SagaSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b",
                    "order_number": "OMS-00001000",
                    "channel": "web",
                    "state": "fulfilling",
                    "state_since": "2026-11-22T10:15:02Z",
                    "waiting_for": "fulfilment",
                    "stuck": False,
                    "started_at": "2026-11-22T10:15:00Z",
                    "updated_at": "2026-11-22T10:15:02Z",
                    "due_at": None,
                    "deadline_at": "2026-11-23T10:15:02Z",
                    "round": 1,
                    "unrouted": {},
                    "excluded_locations": [],
                    "hold_reason": None,
                    "payment": {
                        "status": "authorized",
                        "currency": "EUR",
                        "authorized": "44.88",
                        "captured": "0.00",
                        "voided": "0.00",
                        "refunded": "0.00",
                    },
                    "fulfillment_ids": ["019a4c1e-9e3b-7c6a-9f00-3b1d2e4f5a6c"],
                    "steps": [
                        {
                            "name": "order_placed",
                            "at": "2026-11-22T10:15:00Z",
                            "detail": "1 lines to route",
                        },
                        {
                            "name": "routed",
                            "at": "2026-11-22T10:15:00Z",
                            "detail": "WH-BER: nearest location with all 1 lines in stock.",
                        },
                    ],
                }
            ]
        }
    )

    round: int = Field(description="How many routing plans it made")
    unrouted: dict[str, int] = Field(description="Line id -> units still to route")
    excluded_locations: list[str] = Field(
        description="Locations that rejected or short-picked it: never routed to again"
    )
    hold_reason: str | None = Field(
        None, description="Why it is on hold, or why it waits for stock"
    )
    hold: HoldRead | None = Field(None, description="The hold it is in, when on hold")
    payment: PaymentSummary
    fulfillment_ids: list[UUID]
    steps: list[SagaStepRead]
    priority: Literal["normal", "high"] = Field(
        "normal",
        description="The order's priority (oms.order.priority_changed): a high order's "
        "reservations are first in line for incoming stock",
    )


class SagaPage(Page[SagaSummary]):
    pass


class CandidateRead(BaseModel):
    location_code: str
    eligible: bool
    covers_all: bool
    filters: list[dict[str, Any]] = Field(description="Each hard filter: name, passed, reason")
    components: list[dict[str, Any]] = Field(
        description="Each score component: name, value, score, weight, contribution"
    )
    total: float | None = None


class RoutingDecisionRead(BaseModel):
    id: UUID
    order_id: UUID
    round: int
    outcome: str = Field(description="routed, backordered or unroutable")
    strategy_version: int
    explanation: str = Field(description="One sentence a person can read")
    reason: str | None = None
    meets_requested_date: bool | None = Field(
        None,
        description="With a requested delivery date: whether the plan delivers by it (false "
        "when no location could, and the order went to the best one); null without a date",
    )
    decided_at: datetime
    candidates: list[CandidateRead]
    parts: list[dict[str, Any]] = Field(description="The chosen plan: location, lines, quote")
    request: dict[str, Any] = Field(description="What was routed: lines, destination, method")


class RoutingDecisionList(BaseModel):
    items: list[RoutingDecisionRead]


class PaymentOperationRead(BaseModel):
    id: UUID
    kind: str = Field(description="authorize, capture, void or refund")
    status: str = Field(description="pending, succeeded or failed")
    amount: Decimal
    currency: str
    attempts: int
    code: str | None = None
    reason: str | None = None
    reference: str | None = None
    shipment_id: str | None = None
    refund_id: str | None = None
    created_at: datetime
    completed_at: datetime | None = None


class PaymentOperationList(BaseModel):
    items: list[PaymentOperationRead]
