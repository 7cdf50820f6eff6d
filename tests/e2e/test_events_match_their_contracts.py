"""Every event the run put on Kafka matches its committed contract.

Runs last: by then the end-to-end tests and the API fuzzing have driven every service through
its flows, and the integration tests' relays have published too. Each record on the system's
topics is read back and checked against contracts/events: the CloudEvents envelope against
cloudevent.json, its `data` against the schema its `dataschema` names, and that schema's event
type and topic against where the record was found. The only records exempt are the ones tests
forge on purpose to prove consumers dead-letter them (marked with a `test-poison` header).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from libs.messaging.envelope import parse_dataschema
from libs.messaging.topics import TOPICS, dlq_of
from tests.e2e.conftest import ROOT, Stack
from tests.support.environment import LOG_DIR
from tests.support.kafka import read_topic

POISON_HEADER = "test-poison"
EVENTS = ROOT / "contracts" / "events"


def _schemas() -> dict[str, tuple[str, Draft202012Validator]]:
    """dataschema URN -> (topic, validator) for every committed event schema."""
    found = {}
    for path in EVENTS.glob("*/*.json"):
        schema = json.loads(path.read_text())
        found[schema["$id"]] = (path.parent.name, Draft202012Validator(schema))
    return found


def _problems(
    topic: str,
    value: bytes,
    envelope: Draft202012Validator,
    schemas: dict[str, tuple[str, Draft202012Validator]],
) -> list[str]:
    try:
        event: dict[str, Any] = json.loads(value)
    except ValueError:
        return ["not JSON"]
    wrong = [e.message for e in envelope.iter_errors(event)]
    if wrong:
        return [f"envelope: {m}" for m in wrong]
    if event["dataschema"] not in schemas:
        return [f"no committed schema {event['dataschema']}"]
    schema_topic, validator = schemas[event["dataschema"]]
    wrong = [
        f"data.{'.'.join(map(str, e.path))}: {e.message}"
        for e in validator.iter_errors(event["data"])
    ]
    if schema_topic != topic:
        wrong.append(f"published to {topic}, its contract puts it on {schema_topic}")
    named = parse_dataschema(event["dataschema"])
    if named is None or named[1] != event["type"]:
        wrong.append(f"type {event['type']} under the schema of {event['dataschema']}")
    return wrong


def _is_poison(headers: Any) -> bool:
    return any(key == POISON_HEADER for key, _ in headers or ())


@pytest.mark.after_the_rest(2)
async def test_every_event_on_kafka_matches_its_schema(stack: Stack) -> None:
    schemas = _schemas()
    envelope = Draft202012Validator(json.loads((EVENTS / "cloudevent.json").read_text()))
    checked: Counter[str] = Counter()
    failures: list[str] = []
    forged = 0
    for spec in TOPICS:
        for record in await read_topic(spec.name):
            if _is_poison(record.headers):
                forged += 1
                continue
            problems = _problems(spec.name, record.value, envelope, schemas)
            if problems:
                failures.append(f"{spec.name}@{record.partition}:{record.offset}: {problems[:3]}")
            else:
                checked[json.loads(record.value)["type"]] += 1
        # A dead letter is a real event some consumer could not handle: none may be ours.
        for record in await read_topic(dlq_of(spec.name)):
            if not _is_poison(record.headers):
                failures.append(
                    f"{dlq_of(spec.name)}: a real event was dead-lettered: {record.value[:300]!r}"
                )

    summary = {
        "events": sum(checked.values()),
        "types": len(checked),
        "forged": forged,
        "by_type": dict(sorted(checked.items())),
    }
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / "events-validated.json").write_text(json.dumps(summary, indent=2))
    assert not failures, "\n".join(failures[:20])
    # The run drives every flow: a near-empty topic means the check saw nothing, not "all fine".
    assert sum(checked.values()) > 500 and len(checked) > 30, summary
