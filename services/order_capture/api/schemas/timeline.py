"""Response models of an order's timeline (/v1/orders/{order_id}/timeline)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from libs.http.pagination import Page


class TimelineEntryRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-11-22T10:15:02Z",
                    "source": "inventory",
                    "kind": "status_changed",
                    "reason": "stock reserved for every line",
                    "previous_status": "pending",
                    "status": "confirmed",
                    "event_sequence": 2,
                    "details": {},
                }
            ]
        }
    )

    at: datetime
    source: str = Field(description="The service (or the customer) whose action this was")
    kind: str = Field(
        description="placed, updated, cancellation_requested, cancelled, status_changed, "
        "stock_reserved, stock_shortage, allocated, shipped, delivered, returned, refunded, "
        "held, hold_released, delayed (details: reason_code, previous_estimate, new_estimate, "
        "lines), completed"
    )
    reason: str
    previous_status: str | None = None
    status: str | None = None
    event_sequence: int | None = Field(
        description="The `sequence` of the event published for this entry, if any"
    )
    details: dict[str, Any]


TimelinePage = Page[TimelineEntryRead]
