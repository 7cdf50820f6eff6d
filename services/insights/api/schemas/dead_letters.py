"""Dead letters: the records a consumer gave up on, as the API lists and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from libs.http.pagination import Page
from services.insights.domain.dead_letters import DeadLetterStatus


class DeadLetterRead(BaseModel):
    id: UUID
    topic: str = Field(
        description="The topic the record had failed on (a re-drive puts it back there)",
        examples=["oms.order.events"],
    )
    partition: int | None = Field(
        description="Where the record was on that topic (null for a record put on the "
        "dead-letter topic by hand, without the dlq-* headers)",
        examples=[3],
    )
    offset: int | None = Field(examples=[1042])
    consumer: str | None = Field(
        description="The service whose consumer gave up on it", examples=["orchestration"]
    )
    error: str | None = Field(
        description="Why, as the consumer said it",
        examples=["ValidationError('1 validation error for OrderPlaced ...')"],
    )
    event_id: str | None = Field(
        description="The CloudEvent's id, when the record is a CloudEvent",
        examples=["0193b1f2-6c1d-7a3e-9c4b-2f1e0d9c8b7a"],
    )
    event_type: str | None = Field(examples=["oms.order.placed"])
    key: str | None = Field(
        description="The record's key (the order id, mostly)",
        examples=["0193b1f2-6c1d-7a3e-9c4b-2f1e0d9c8b7a"],
    )
    dead_lettered_at: datetime
    status: DeadLetterStatus = Field(
        description="`pending` until re-driven; `redriven` once its record was put back"
    )
    redriven_at: datetime | None = Field(description="The last re-drive's time")
    redrive_count: int = Field(examples=[0])


class DeadLetterDetailRead(DeadLetterRead):
    value: Any = Field(
        default=None,
        description="The record's value, when it is JSON (a CloudEvent, mostly)",
    )
    value_base64: str | None = Field(
        default=None,
        description="The record's value in base64, when it is not JSON",
        examples=[None],
    )
    headers: dict[str, str] = Field(
        description="The original record's headers (the dead-letter topic's dlq-* ones are "
        "the fields above)",
        examples=[{"ce_type": "oms.order.placed"}],
    )


class DeadLetterPage(Page[DeadLetterRead]):
    pass
