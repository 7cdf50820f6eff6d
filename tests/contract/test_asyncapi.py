"""contracts/events/asyncapi.json is a valid AsyncAPI 3.0 document that covers every topic and
event type of the code, and every schema it points at is committed.

The AsyncAPI 3.0.0 JSON Schema is vendored next to this file (see ASYNCAPI_SCHEMA_SOURCE.md), so
the check needs neither npm nor the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import (  # type: ignore[import-untyped,unused-ignore]
    Draft7Validator,
    Draft202012Validator,
)
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import MetaData

from libs.clock import SystemClock
from libs.contracts.base import IntegrationEvent, OrderCommand
from libs.contracts.catalog import all_events
from libs.contracts.inventory import LowStock
from libs.contracts.orchestration import OrderCompleted
from libs.messaging.topics import TOPICS
from libs.outbox.tables import outbox_table
from libs.outbox.writer import OutboxWriter
from tools.contracts import ROOT, asyncapi_document, render

pytestmark = pytest.mark.unit

EVENTS_DIR = ROOT / "contracts" / "events"
COMMITTED = EVENTS_DIR / "asyncapi.json"
SCHEMA = json.loads(Path(__file__).with_name("asyncapi-3.0.0.schema.json").read_text())
DOC = asyncapi_document()


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(pointer: str) -> Any:
    node: Any = DOC
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _channel_of_message(name: str) -> list[str]:
    """Addresses of the channels whose messages include the one named `name`."""
    found = []
    for channel in DOC["channels"].values():
        for ref in channel["messages"].values():
            if _resolve(ref["$ref"]).get("name") == name:
                found.append(channel["address"])
    return found


def test_committed_document_is_the_generated_one() -> None:
    committed = COMMITTED.read_text() if COMMITTED.exists() else ""
    assert committed == render(DOC), "asyncapi.json is stale: run `make contracts` and commit"


def test_document_is_valid_asyncapi_3() -> None:
    errors = sorted(Draft7Validator(SCHEMA).iter_errors(DOC), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message[:200]}" for e in errors[:5])


def test_vendored_schema_rejects_what_asyncapi_3_forbids() -> None:
    # Guards against a vendored schema that accepts anything (e.g. an unresolved $ref).
    broken = json.loads(json.dumps(DOC))
    next(iter(broken["operations"].values()))["action"] = "publish"  # AsyncAPI 2's verb
    assert not Draft7Validator(SCHEMA).is_valid(broken)


@pytest.mark.parametrize("event_type", sorted(all_events()))
def test_every_event_type_is_a_message_of_its_topic_only(event_type: str) -> None:
    assert _channel_of_message(event_type) == [all_events()[event_type].topic]


@pytest.mark.parametrize("spec", TOPICS, ids=lambda spec: spec.name)
def test_every_topic_is_a_channel_with_its_owner(spec: Any) -> None:
    channel = DOC["channels"][spec.name]
    assert channel["address"] == spec.name
    assert channel["x-owner"] == spec.owner
    assert spec.owner in channel["description"]
    assert channel["bindings"]["kafka"]["partitions"] == spec.partitions


def test_services_send_only_to_their_own_topics_or_to_commands_topics() -> None:
    owners = {spec.name: spec.owner for spec in TOPICS}
    commands_topics = {cls.topic for cls in all_events().values() if issubclass(cls, OrderCommand)}
    senders: dict[str, set[str]] = {}
    for op_id, op in DOC["operations"].items():
        topic = _resolve(op["channel"]["$ref"])["address"]
        if op["action"] == "send" and topic in owners:
            senders.setdefault(topic, set()).add(op["x-service"])
            if topic not in commands_topics:
                assert op["x-service"] == owners[topic], f"{op_id} sends to another's topic"
    for topic, owner in owners.items():
        if topic not in commands_topics:
            assert senders.get(topic) == {owner}, f"{topic} has no send operation by {owner}"
        else:
            assert senders.get(topic), f"nobody sends to {topic}"


def test_every_internal_reference_resolves() -> None:
    for ref in _refs(DOC):
        if ref.startswith("#/"):
            _resolve(ref)  # raises KeyError when dangling


def test_every_schema_file_reference_is_a_committed_file_under_contracts_events() -> None:
    files = sorted({ref for ref in _refs(DOC) if not ref.startswith("#")})
    assert "./cloudevent.json" in files
    for ref in files:
        target = (EVENTS_DIR / ref).resolve()
        assert target.is_relative_to(EVENTS_DIR), f"{ref} points outside contracts/events"
        assert target.is_file(), f"{ref} is not a committed schema"
    # ...and every committed event schema is referenced: nothing is left out of the document.
    schemas = {p for p in EVENTS_DIR.rglob("*.json") if p.parent != EVENTS_DIR}
    assert schemas == {(EVENTS_DIR / ref).resolve() for ref in files} - {
        EVENTS_DIR / "cloudevent.json"
    }


@pytest.mark.parametrize(
    "event",
    [
        OrderCompleted(order_id="ord-1", completed_at=datetime.now(UTC)),
        LowStock(sku="SKU-1", available=2, threshold=5),
    ],
    ids=lambda event: event.event_type,
)
def test_a_record_value_the_outbox_writes_satisfies_its_message_payload(
    event: IntegrationEvent,
) -> None:
    # Resolves the payload's relative $refs against the committed files, as a subscriber's
    # tooling would, and checks a real envelope (the relay sends the outbox payload as is).
    base = (EVENTS_DIR / "asyncapi.json").as_uri()
    registry: Registry[Any] = Registry()
    for path in EVENTS_DIR.rglob("*.json"):
        if path != COMMITTED:
            resource = DRAFT202012.create_resource(json.loads(path.read_text()))
            registry = registry.with_resource(path.as_uri(), resource)
    registry = registry.crawl()
    message = DOC["components"]["messages"][f"{event.event_type}.v{event.version}"]
    schema = {"$id": base, **message["payload"]["schema"]}
    writer = OutboxWriter(table=outbox_table(MetaData()), service="test", clock=SystemClock())
    value = writer.envelope(event).model_dump(mode="json", exclude_none=True)
    validator = Draft202012Validator(schema, registry=registry)
    assert not list(validator.iter_errors(value))
    value["data"].pop(next(iter(value["data"])))  # a required field goes missing
    assert not validator.is_valid(value), "the payload schema does not reach the event's schema"
