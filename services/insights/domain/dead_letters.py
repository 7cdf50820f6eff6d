"""Dead letters: the records a consumer gave up on, as insights keeps them to be looked at and
put back (re-driven) on the topic they came from.

A consumer that cannot handle a record (libs.messaging.consumer) sends it unchanged to
`<topic>.dlq` with `dlq-*` headers saying which consumer failed, why, and where the record was.
What is read here from such a record is plain data; the value is kept byte for byte, so that a
re-drive puts back exactly the record that failed, whatever it holds (a CloudEvent, or bytes
that are not one)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

DLQ_HEADER_PREFIX = "dlq-"
ERROR_HEADER = "dlq-error"
CONSUMER_HEADER = "dlq-consumer"
ORIGINAL_TOPIC_HEADER = "dlq-original-topic"
ORIGINAL_PARTITION_HEADER = "dlq-original-partition"
ORIGINAL_OFFSET_HEADER = "dlq-original-offset"
# Says on the re-driven record where it was put back from, so whoever reads the topic can tell
# it from the original (and a consumer that fails on it again dead-letters it with this kept).
REDRIVEN_FROM_HEADER = "redriven-from"

Headers = tuple[tuple[str, bytes], ...]


class DeadLetterStatus(StrEnum):
    PENDING = "pending"
    REDRIVEN = "redriven"


@dataclass(frozen=True)
class CollectedDeadLetter:
    """One record of a dead-letter topic, as read from it."""

    topic: str  # the logical topic the record had failed on
    partition: int | None  # where it was there (None: a record without the dlq-* headers)
    offset: int | None
    dlq_partition: int  # where it is on the dead-letter topic: the row's identity
    dlq_offset: int
    consumer: str | None
    error: str | None
    key: bytes | None
    value: bytes | None
    value_json: Any  # the value parsed, when it is JSON PostgreSQL can store; else None
    headers: Headers  # the original record's headers (the dlq-* ones left out)
    event_id: str | None
    event_type: str | None
    dead_lettered_at: datetime


@dataclass(frozen=True)
class DeadLetter:
    """What a re-drive needs of a stored dead letter."""

    id: UUID
    topic: str
    dlq_partition: int
    dlq_offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    status: DeadLetterStatus


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode(errors="replace")


def _integer(value: bytes | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON PostgreSQL can store")


def _storable_json(value: bytes | None) -> Any:
    """The value as JSON, or None when it is not JSON that a jsonb column takes: Python's
    parser accepts NaN and Infinity, and jsonb refuses them and the NUL character."""
    if value is None:
        return None
    try:
        text = value.decode()
        if "\\u0000" in text:
            return None
        parsed = json.loads(text, parse_constant=_refuse_constant)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if isinstance(parsed, float) and not math.isfinite(parsed):
        return None  # a number too large for a float (1e999)
    return parsed


def _cloud_event_field(parsed: Any, name: str) -> str | None:
    if isinstance(parsed, dict) and "specversion" in parsed:
        found = parsed.get(name)
        return found if isinstance(found, str) else None
    return None


def read_dead_letter(
    *,
    dlq_topic: str,
    dlq_partition: int,
    dlq_offset: int,
    key: bytes | None,
    value: bytes | None,
    headers: Headers,
    dead_lettered_at: datetime,
    logical: Callable[[str], str],
) -> CollectedDeadLetter:
    """A record of the dead-letter topic `dlq_topic` (its physical name), read. `logical` maps
    a physical topic name to its logical one (TopicNamer.logical). The original topic is the
    one its header names; a record without it (put there by hand) is taken to come from the
    topic the dead-letter topic belongs to."""
    found = dict(headers)
    original = _text(found.get(ORIGINAL_TOPIC_HEADER)) or dlq_topic.removesuffix(".dlq")
    parsed = _storable_json(value)
    return CollectedDeadLetter(
        topic=logical(original),
        partition=_integer(found.get(ORIGINAL_PARTITION_HEADER)),
        offset=_integer(found.get(ORIGINAL_OFFSET_HEADER)),
        dlq_partition=dlq_partition,
        dlq_offset=dlq_offset,
        consumer=_text(found.get(CONSUMER_HEADER)),
        error=_text(found.get(ERROR_HEADER)),
        key=key,
        value=value,
        value_json=parsed,
        headers=tuple(
            (name, data) for name, data in headers if not name.startswith(DLQ_HEADER_PREFIX)
        ),
        event_id=_cloud_event_field(parsed, "id"),
        event_type=_cloud_event_field(parsed, "type"),
        dead_lettered_at=dead_lettered_at,
    )


def redrive_headers(letter: DeadLetter, source: str) -> Headers:
    """The headers a re-driven record carries: the original's, and where it was put back from
    (`<dead-letter topic>:<partition>:<offset>`), which replaces an earlier re-drive's."""
    kept = tuple((name, data) for name, data in letter.headers if name != REDRIVEN_FROM_HEADER)
    return (*kept, (REDRIVEN_FROM_HEADER, source.encode()))
