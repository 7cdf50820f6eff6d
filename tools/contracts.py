"""Writes the committed contracts: `python -m tools.contracts` (what `make contracts` runs).

- contracts/openapi/<service>.json: each app's OpenAPI document, generated from the code.
- contracts/events/<topic>/<event type>.v<N>.json: a JSON Schema of each event's `data`.
- contracts/events/cloudevent.json: the envelope every event travels in.
- contracts/events/asyncapi.json: an AsyncAPI 3.0 document of every topic, its owner, its key,
  its events, and which service sends and receives them.
`--check` writes nothing and exits 1 when a committed file differs from the code.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from libs import registry
from libs.auth.keys import generate_signing_key, jwks_of
from libs.contracts.base import IntegrationEvent
from libs.contracts.catalog import all_events
from libs.messaging.envelope import CONTENT_TYPE, Envelope, dataschema_of, source_of
from libs.messaging.topics import TOPICS, dlq_of, partitions_of

ROOT = Path(__file__).resolve().parents[1]


def openapi_documents() -> dict[Path, dict[str, Any]]:
    # The documents do not depend on keys, but a service will not build without keys to trust
    # and to sign its calls with: a throwaway one, unless the environment names real ones.
    key = generate_signing_key("contracts")
    os.environ.setdefault("OMS_AUTH_SIGNING_KEY", json.dumps(key))
    os.environ.setdefault("OMS_AUTH_JWKS", json.dumps(jwks_of(key)))
    docs = {}
    for service in registry.SERVICES:
        bootstrap = importlib.import_module(f"{service.package}.bootstrap").bootstrap
        create_app = importlib.import_module(f"{service.package}.api.app").create_app
        app = create_app(bootstrap())
        docs[ROOT / "contracts" / "openapi" / service.openapi] = app.openapi()
    return docs


def event_schemas() -> dict[Path, dict[str, Any]]:
    docs: dict[Path, dict[str, Any]] = {}
    for event_type, cls in sorted(all_events().items()):
        schema = cls.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"urn:oms:event-schema:{cls.topic}:{event_type}:v{cls.version}"
        schema["description"] = (cls.__doc__ or "").strip()
        docs[ROOT / "contracts" / "events" / cls.topic / f"{event_type}.v{cls.version}.json"] = (
            schema
        )
    envelope = Envelope.model_json_schema(mode="serialization")
    envelope["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    envelope["description"] = "CloudEvents 1.0, Kafka binding in structured mode"
    docs[ROOT / "contracts" / "events" / "cloudevent.json"] = envelope
    return docs


# The events' version (the AsyncAPI document's info.version): its major part rises with a change
# that breaks subscribers and cannot be published beside the old type version (tools.compat).
# 2: oms.order.placed lost payment.token (issue 22; v2 of the type), which v1 beside it would
# have kept publishing.
EVENTS_VERSION = "2.0.0"

ASYNCAPI_DESCRIPTION = """\
Every Kafka topic of the order management system: its owner, its record key, the events on it
and the services that send and receive them. Generated from the code (`python -m tools.contracts`);
do not edit by hand.

**Envelope.** Every record is a CloudEvents 1.0 event in the Kafka protocol binding's
*structured* mode: header `content-type: application/cloudevents+json`, and the value is one JSON
object holding the attributes and the event itself in `data` (`datacontenttype:
application/json`). `type` names the event (the messages below); `source` is the publishing
service (`/oms/<service>`); `subject` and `partitionkey` repeat the record key; `dataschema` is
`urn:oms:event-schema:<topic>:<type>:v<N>`, the `$id` of the JSON Schema (2020-12) of `data` in
`<topic>/<type>.v<N>.json` next to this document, which each message's payload references.
`correlationid` is shared by every event of one order's story across all four services;
`causationid` is the `id` of the event that caused this one (absent when a request did). Both
also travel as the record headers `correlation-id` and `causation-id`.

**Keys and ordering.** The record key (a UTF-8 string) is the order id wherever an order is
concerned, otherwise the aggregate's id (the SKU for stock levels); each message's Kafka binding
says which `data` field it is. One key's records are in one partition, in the order their
service wrote them; nothing is ordered across keys.

**Delivery.** Events leave a service through its transactional outbox, at least once: a
subscriber may see an event again and must skip an `id` it has handled. Ignore attributes and
`data` fields you do not know.

**Topic prefix.** Channel addresses are logical topic names. A service started with a topic
prefix (`<SERVICE>_KAFKA_TOPIC_PREFIX`, e.g. `ORDER_CAPTURE_KAFKA_TOPIC_PREFIX`;
`OMS_KAFKA_TOPIC_PREFIX` for the topic tool `python -m libs.messaging.admin`) uses
`<prefix><address>` instead. Test runs use it to share a broker; it is empty in every real
deployment.

**Dead letters.** A consumer that cannot process a record after retries copies it unchanged
(value, key and headers) to `<topic>.dlq`, adds `dlq-*` headers saying why, and goes on. The
`.dlq` channels below describe them.

**Schema evolution.** An event type changes only by adding optional fields, so subscribers keep
working. A breaking change is a new version of the type (a new message `<type>.v<N+1>`, its own
schema file and `dataschema`) published beside the old one until every subscriber has moved.
"""

KAFKA_BINDING = "0.5.0"
# The committed schemas declare JSON Schema 2020-12; a referenced schema's format must match the
# one declared where it is referenced, so the payloads say so instead of using the default.
SCHEMA_FORMAT = "application/schema+json;version=2020-12"
# Written by libs/messaging/consumer.py (InboxConsumer._dead_letter) beside the original headers.
DLQ_HEADERS = {
    "dlq-error": "The error, cut to 2000 characters",
    "dlq-consumer": "The consumer group (service) that gave up",
    "dlq-original-topic": "The topic the record came from, with its prefix",
    "dlq-original-partition": "Its partition",
    "dlq-original-offset": "Its offset",
}


def _key_field(cls: type[IntegrationEvent]) -> str:
    """The `data` field the record key comes from, found by asking the class itself."""
    # Each field holds its own name, so the key property returns the name of the field it read.
    probe = cls.model_construct(None, **{name: name for name in cls.model_fields})
    return probe.partition_key


def _summary(cls: type[IntegrationEvent]) -> str:
    doc = inspect.cleandoc(cls.__doc__ or "")
    if doc:
        return " ".join(doc.split("\n\n")[0].split())
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()
    return words[0].upper() + words[1:] + "."


def _message_id(cls: type[IntegrationEvent]) -> str:
    return f"{cls.event_type}.v{cls.version}"


def _constructed_events(service: registry.Service) -> set[type[IntegrationEvent]]:
    """Event classes a service's code instantiates, i.e. what its outbox may publish: called
    (`contract.Event(...)`) or built from a domain event (`from_event(contract.Event, ...)`,
    libs.messaging.wire).

    Read from the source because the outbox writes whatever event it is given; a class nobody
    instantiates has no sender.
    """
    events = set(all_events().values())
    found: set[type[IntegrationEvent]] = set()
    for path in sorted((ROOT / "services" / service.name).rglob("*.py")):
        tree = ast.parse(path.read_text())
        names: dict[str, Any] = {}  # local name -> contract module or class
        builders: set[str] = set()  # local names of libs.messaging.wire.from_event
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "libs.contracts"
            ):
                module = importlib.import_module(str(node.module))
                for alias in node.names:
                    names[alias.asname or alias.name] = getattr(module, alias.name)
            if isinstance(node, ast.ImportFrom) and node.module == "libs.messaging.wire":
                builders.update(a.asname or a.name for a in node.names if a.name == "from_event")
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            target = _named(node.func, names)
            if isinstance(node.func, ast.Name) and node.func.id in builders and node.args:
                target = _named(node.args[0], names)
            if target in events:
                found.add(target)
    return found


def _named(expr: ast.expr, names: dict[str, Any]) -> object:
    """What `expr` (`Event` or `module.Event`) names among a module's contract imports."""
    if isinstance(expr, ast.Name):
        return names.get(expr.id)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        owner = names.get(expr.value.id)
        if isinstance(owner, ModuleType):
            return getattr(owner, expr.attr, None)
    return None


def _event_message(cls: type[IntegrationEvent]) -> dict[str, Any]:
    key = _key_field(cls)
    doc = inspect.cleandoc(cls.__doc__ or "")
    return {
        "name": cls.event_type,
        "title": cls.__name__,
        "summary": _summary(cls),
        "description": (doc + "\n\n" if doc else "")
        + f"Record key: `data.{key}` (also the CloudEvent `subject` and `partitionkey`).",
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/recordHeaders"},
        "payload": {
            "schemaFormat": SCHEMA_FORMAT,
            "schema": {
                "allOf": [{"$ref": "./cloudevent.json"}],
                "properties": {
                    "type": {"const": cls.event_type},
                    "dataschema": {"const": dataschema_of(cls.topic, cls.event_type, cls.version)},
                    "data": {"$ref": f"./{cls.topic}/{cls.event_type}.v{cls.version}.json"},
                },
                "required": ["data"],
            },
        },
        "correlationId": {"$ref": "#/components/correlationIds/correlationid"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"`data.{key}` of the event"},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "dead-letter",
        "title": "Dead letter",
        "summary": "A record a consumer gave up on, copied unchanged from its topic.",
        "description": "Value, key and original headers are those of the record on the source "
        "topic: usually a CloudEvent of that topic's messages, but possibly bytes that could not "
        "be decoded at all. Not processed by any service; read by people.",
        "headers": {"$ref": "#/components/schemas/deadLetterHeaders"},
        "payload": {"description": "The original record value, byte for byte"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record key"},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _operation(
    action: str, service: str, channel: str, message_ids: list[str], summary: str
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "action": action,
        "summary": summary,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in message_ids],
        "x-service": service,
    }
    if action == "receive":
        group = {"type": "string", "const": service, "description": "The service's consumer group"}
        op["bindings"] = {"kafka": {"groupId": group, "bindingVersion": KAFKA_BINDING}}
    return op


def asyncapi_document() -> dict[str, Any]:
    events = sorted(all_events().values(), key=lambda cls: cls.event_type)
    channels: dict[str, Any] = {}
    for spec in TOPICS:
        on_topic = [cls for cls in events if cls.topic == spec.name]
        keys = sorted({_key_field(cls) for cls in on_topic})
        channels[spec.name] = {
            "address": spec.name,
            "title": spec.name,
            "description": f"Owned by {spec.owner}. Record key: {spec.key} "
            f"(`data.{'`, `data.'.join(keys)}`; each message says which). Dead letters go to "
            f"`{dlq_of(spec.name)}`.",
            "messages": {
                _message_id(c): {"$ref": f"#/components/messages/{_message_id(c)}"}
                for c in on_topic
            },
            "bindings": {"kafka": {"partitions": spec.partitions, "bindingVersion": KAFKA_BINDING}},
            "x-owner": spec.owner,
            "x-key": spec.key,
        }
    for spec in TOPICS:
        dlq = dlq_of(spec.name)
        channels[dlq] = {
            "address": dlq,
            "title": dlq,
            "description": f"Dead letters of `{spec.name}`, written by its consumers.",
            "messages": {"dead-letter": {"$ref": "#/components/messages/dead-letter"}},
            "bindings": {
                "kafka": {"partitions": partitions_of(dlq), "bindingVersion": KAFKA_BINDING}
            },
            "x-dead-letters-of": spec.name,
        }

    operations: dict[str, Any] = {}
    for each in registry.SERVICES:
        service = each.deploy_name
        sent = _constructed_events(each)
        for spec in TOPICS:
            ids = [_message_id(c) for c in events if c in sent and c.topic == spec.name]
            if ids:
                summary = f"{service} publishes to {spec.name} through its outbox."
                op = _operation("send", service, spec.name, ids, summary)
                op["x-cloudevents-source"] = source_of(service)
                operations[f"{service}-publishes-{spec.name}"] = op
    for each in registry.SERVICES:
        service = each.deploy_name
        bootstrap = importlib.import_module(f"{each.package}.bootstrap")
        subscriptions = bootstrap.SUBSCRIPTIONS
        for spec in TOPICS:
            handled = subscriptions.get(spec.name, {})
            ids = [_message_id(c) for c in events if c.event_type in handled]
            if not ids:
                continue
            summary = f"{service} consumes these messages of {spec.name} and skips the others."
            operations[f"{service}-consumes-{spec.name}"] = _operation(
                "receive", service, spec.name, ids, summary
            )
            summary = f"{service} dead-letters what it could not process of {spec.name}."
            operations[f"{service}-dead-letters-{spec.name}"] = _operation(
                "send", service, dlq_of(spec.name), ["dead-letter"], summary
            )

    header = {"type": "string"}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Order management system: events on Kafka",
            "version": EVENTS_VERSION,
            "description": ASYNCAPI_DESCRIPTION,
        },
        "servers": {
            "local": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The development broker (deploy/local/kafka.sh); inside "
                "docker-compose's network it is kafka:9092.",
            }
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {
                **{_message_id(cls): _event_message(cls) for cls in events},
                "dead-letter": _dead_letter_message(),
            },
            "schemas": {
                "recordHeaders": {
                    "type": "object",
                    "properties": {
                        "content-type": {**header, "const": CONTENT_TYPE},
                        "correlation-id": {**header, "description": "= `correlationid`"},
                        "causation-id": {**header, "description": "= `causationid`, if any"},
                    },
                    "required": ["content-type", "correlation-id"],
                },
                "deadLetterHeaders": {
                    "type": "object",
                    "description": "The original record's headers, plus:",
                    "properties": {
                        name: {**header, "description": text} for name, text in DLQ_HEADERS.items()
                    },
                    "required": list(DLQ_HEADERS),
                },
            },
            "correlationIds": {
                "correlationid": {
                    "description": "Shared by every event of one order's story, across services; "
                    "`causationid` names the event that caused this one, `id` the event itself.",
                    "location": "$message.payload#/correlationid",
                }
            },
        },
    }


def documents() -> dict[Path, dict[str, Any]]:
    """Every committed contract, by path."""
    return {
        **openapi_documents(),
        **event_schemas(),
        ROOT / "contracts" / "events" / "asyncapi.json": asyncapi_document(),
    }


def orphans(produced: Iterable[Path]) -> list[Path]:
    """Committed contract files the code no longer produces.

    contracts/released/ holds copies of earlier releases, kept on purpose as the baseline of
    compatibility checks, so its files are never orphans.
    """
    released = ROOT / "contracts" / "released"
    on_disk = {p for p in (ROOT / "contracts").rglob("*.json") if not p.is_relative_to(released)}
    return sorted(on_disk - set(produced))


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    produced = documents()
    # A schema file no event class produces any more is a contract nobody honours: report it,
    # or remove it when writing.
    for orphan in orphans(produced):
        if args.check:
            stale.append(orphan.relative_to(ROOT))
        else:
            orphan.unlink()
    for path, doc in produced.items():
        text = render(doc)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print(
            "stale contracts (run `make contracts`): " + ", ".join(map(str, stale)), file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
