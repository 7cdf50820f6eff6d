"""What insights reads from a dead-letter record, and what a re-drive sends back."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from libs.messaging.topics import TopicNamer
from services.insights.domain.dead_letters import (
    CollectedDeadLetter,
    DeadLetter,
    DeadLetterStatus,
    read_dead_letter,
    redrive_headers,
)

NAMER = TopicNamer("run1.")
AT = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _read(value: bytes | None, headers: tuple[tuple[str, bytes], ...] = ()) -> CollectedDeadLetter:
    return read_dead_letter(
        dlq_topic="run1.oms.returns.events.dlq",
        dlq_partition=0,
        dlq_offset=9,
        key=b"k",
        value=value,
        headers=headers,
        dead_lettered_at=AT,
        logical=NAMER.logical,
    )


def test_a_consumers_dead_letter_says_where_it_failed_and_why() -> None:
    event = {"specversion": "1.0", "id": "e1", "type": "oms.return.opened", "data": {}}
    letter = read_dead_letter(
        dlq_topic="run1.oms.order.events.dlq",
        dlq_partition=0,
        dlq_offset=3,
        key=b"order-1",
        value=json.dumps(event).encode(),
        headers=(
            ("ce_type", b"oms.return.opened"),
            ("dlq-error", b"KeyError('x')"),
            ("dlq-consumer", b"returns"),
            ("dlq-original-topic", b"run1.oms.order.events"),
            ("dlq-original-partition", b"4"),
            ("dlq-original-offset", b"120"),
        ),
        dead_lettered_at=AT,
        logical=NAMER.logical,
    )
    assert (letter.topic, letter.partition, letter.offset) == ("oms.order.events", 4, 120)
    assert (letter.consumer, letter.error) == ("returns", "KeyError('x')")
    assert (letter.event_id, letter.event_type) == ("e1", "oms.return.opened")
    assert letter.value_json == event
    assert letter.headers == (("ce_type", b"oms.return.opened"),)


@pytest.mark.parametrize(
    "value",
    [b"not json", b"\xff\xfe", b'{"a": NaN}', b'{"a": "\\u0000"}', b"1e999", None],
    ids=["text", "not-utf8", "nan", "nul", "huge-number", "no-value"],
)
def test_a_value_jsonb_cannot_hold_is_kept_as_bytes_only(value: bytes | None) -> None:
    letter = _read(value)
    assert letter.value_json is None and letter.value == value


def test_a_record_put_there_by_hand_belongs_to_the_dead_letter_topics_topic() -> None:
    letter = _read(b"{}")
    assert letter.topic == "oms.returns.events"
    assert letter.partition is None and letter.consumer is None
    assert letter.event_id is None  # JSON, but no CloudEvent


def test_a_redrive_keeps_the_headers_and_says_where_it_came_from_once() -> None:
    letter = DeadLetter(
        id=uuid.uuid4(),
        topic="oms.order.events",
        dlq_partition=0,
        dlq_offset=5,
        key=None,
        value=b"x",
        headers=(("ce_type", b"t"), ("redriven-from", b"run1.oms.order.events.dlq:0:1")),
        status=DeadLetterStatus.REDRIVEN,
    )
    assert redrive_headers(letter, "run1.oms.order.events.dlq:0:5") == (
        ("ce_type", b"t"),
        ("redriven-from", b"run1.oms.order.events.dlq:0:5"),
    )
