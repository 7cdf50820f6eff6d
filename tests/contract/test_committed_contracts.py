"""The committed contracts are exactly what the code serves and publishes (`make contracts`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]
from openapi_spec_validator import validate

from libs.http.problems import PROBLEM_JSON
from tools.contracts import documents, event_schemas, openapi_documents, orphans, render

OPENAPI = openapi_documents()
EVENTS = event_schemas()


@pytest.mark.parametrize("path", sorted(OPENAPI), ids=lambda p: p.name)
def test_openapi_document_matches_the_app(path: Path) -> None:
    assert path in OPENAPI
    committed = path.read_text() if path.exists() else ""
    assert committed == render(OPENAPI[path]), f"{path} is stale: run `make contracts` and commit"


@pytest.mark.parametrize("path", sorted(EVENTS), ids=lambda p: p.name)
def test_event_schema_matches_the_model(path: Path) -> None:
    committed = path.read_text() if path.exists() else ""
    assert committed == render(EVENTS[path]), f"{path} is stale: run `make contracts` and commit"


@pytest.mark.parametrize("path", sorted(OPENAPI), ids=lambda p: p.name)
def test_openapi_document_is_valid_openapi_3_1(path: Path) -> None:
    assert OPENAPI[path]["openapi"].startswith("3.1")
    validate(OPENAPI[path])  # raises on any violation of the OpenAPI 3.1 specification


@pytest.mark.parametrize("path", sorted(OPENAPI), ids=lambda p: p.name)
def test_every_operation_is_named_summarised_and_its_errors_are_problems(path: Path) -> None:
    ids = []
    for route, operations in OPENAPI[path]["paths"].items():
        for method, op in operations.items():
            name = f"{path.name} {method.upper()} {route}"
            assert re.fullmatch(r"[a-z]+(-[a-z]+)+", op.get("operationId", "")), name
            assert op.get("summary"), f"{name} has no summary"
            ids.append(op["operationId"])
            for status, response in op["responses"].items():
                if route.startswith("/v1") and status.startswith(("4", "5")):
                    media = response.get("content", {}).get(PROBLEM_JSON, {})
                    assert media.get("schema") == {"$ref": "#/components/schemas/Problem"}, (
                        f"{name} {status} is not problem+json"
                    )
    assert len(ids) == len(set(ids)), "operation ids must be unique"


def test_every_route_declares_its_problem_responses() -> None:
    for path, doc in OPENAPI.items():
        for route, operations in doc["paths"].items():
            for method, op in operations.items():
                if route.startswith("/v1"):
                    declared = {s for s in op["responses"] if s.startswith(("4", "5"))}
                    assert "503" in declared, f"{path.name} {method} {route} hides its 503"


def test_no_committed_contract_is_orphaned() -> None:
    """Every file under contracts/ (but the released baseline) is one the code produces."""
    stale = orphans(documents())
    assert not stale, [str(p) for p in stale]


def _media_with_examples(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for route, operations in doc["paths"].items():
        for method, op in operations.items():
            name = f"{method.upper()} {route}"
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                found.append((f"{name} request", body))
            for status, response in op["responses"].items():
                media = response.get("content", {}).get("application/json")
                if status.startswith("2") and media:
                    found.append((f"{name} {status}", media))
    return found


@pytest.mark.parametrize("path", sorted(OPENAPI), ids=lambda p: p.name)
def test_every_operation_has_a_valid_example_request_and_response(path: Path) -> None:
    doc = OPENAPI[path]
    checked = 0
    for name, media in _media_with_examples(doc):
        assert "example" in media, f"{path.name}: {name} has no example"
        schema = {**media["schema"], "components": doc["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(media["example"]))
        assert not errors, f"{path.name}: {name} example breaks its schema: {errors[0].message}"
        checked += 1
    assert checked >= 2
