"""Writes the committed contracts: `python -m tools.contracts` (what `make contracts` runs).

- contracts/openapi/<service>.json: each app's OpenAPI document, generated from the code.
- contracts/events/<topic>/<event type>.v<N>.json: a JSON Schema of each event's `data`.
- contracts/events/cloudevent.json: the envelope every event travels in.
`--check` writes nothing and exits 1 when a committed file differs from the code.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from libs.contracts.catalog import all_events
from libs.messaging.envelope import Envelope

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("order_capture", "inventory", "orchestration", "returns")


def openapi_documents() -> dict[Path, dict[str, Any]]:
    docs = {}
    for service in SERVICES:
        bootstrap = importlib.import_module(f"services.{service}.bootstrap").bootstrap
        create_app = importlib.import_module(f"services.{service}.api.app").create_app
        app = create_app(bootstrap())
        docs[ROOT / "contracts" / "openapi" / f"{service.replace('_', '-')}.json"] = app.openapi()
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


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    documents = {**openapi_documents(), **event_schemas()}
    # A schema file no event class produces any more is a contract nobody honours: report it,
    # or remove it when writing.
    for orphan in sorted(set((ROOT / "contracts").rglob("*.json")) - set(documents)):
        if args.check:
            stale.append(orphan.relative_to(ROOT))
        else:
            orphan.unlink()
    for path, doc in documents.items():
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
