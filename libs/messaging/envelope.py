"""CloudEvents 1.0 envelope, Kafka protocol binding in *structured* mode.

Structured mode everywhere: the whole event (attributes and data) is the JSON record value with
`content-type: application/cloudevents+json`, so a subscriber needs nothing but the value to
know what it holds, and tools like kcat print complete events. The record key is the partition
key (the order id wherever an order is concerned).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"
# The event's type, also as a record header (CloudEvents' Kafka binding calls it ce_type): a
# consumer passes over the types it does not subscribe to without parsing their JSON.
TYPE_HEADER = "ce_type"


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    correlationid: str
    causationid: str | None = None
    partitionkey: str
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        # Parsed and validated in one pass by pydantic (not json.loads, then a second walk).
        return cls.model_validate_json(raw)


def source_of(service: str) -> str:
    return f"/oms/{service}"


def dataschema_of(topic: str, event_type: str, version: int) -> str:
    """URN of the JSON Schema at contracts/events/<topic>/<event_type>.v<version>.json."""
    return f"urn:oms:event-schema:{topic}:{event_type}:v{version}"


def parse_dataschema(urn: str) -> tuple[str, str, int] | None:
    """(topic, event type, version) of a `dataschema_of` URN; None for any other string."""
    prefix, _, rest = urn.partition("urn:oms:event-schema:")
    topic, _, rest = rest.partition(":")
    event_type, _, version = rest.partition(":v")
    if prefix or not (topic and event_type and version.isdigit()):
        return None
    return topic, event_type, int(version)
