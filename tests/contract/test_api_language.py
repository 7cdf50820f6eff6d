"""The four APIs say the same things the same way in their committed documents: the headers
they send, the problem codes they answer, the shape of an address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from libs.http.address import Address
from libs.http.problem_codes import PROBLEMS, SHARED
from libs.http.problems import PROBLEM_JSON
from libs.observability.correlation import CORRELATION_HEADER
from tools.contracts import openapi_documents

OPENAPI = openapi_documents()
Responses = Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]


def _responses(doc: dict[str, Any]) -> Responses:
    """(operation, status, response, the body's component schema or {}) of every response."""
    schemas = doc["components"]["schemas"]
    for route, operations in doc["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                body: dict[str, Any] = {}
                for media in response.get("content", {}).values():
                    ref = media.get("schema", {}).get("$ref", "")
                    body = schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else body
                yield f"{method.upper()} {route}", status, response, body


def _declares(doc: dict[str, Any], response: dict[str, Any], header: str) -> bool:
    declared = response.get("headers", {}).get(header)
    return declared == {"$ref": f"#/components/headers/{header}"} and (
        doc["components"]["headers"][header]["required"] is True
    )


@pytest.mark.parametrize("path", sorted(OPENAPI), ids=lambda p: p.name)
def test_every_response_declares_the_correlation_header(path: Path) -> None:
    doc = OPENAPI[path]
    missing = [
        f"{op} {status}"
        for op, status, response, _ in _responses(doc)
        if not _declares(doc, response, CORRELATION_HEADER)
    ]
    assert not missing


@pytest.mark.parametrize("path", sorted(OPENAPI), ids=lambda p: p.name)
def test_created_versioned_and_retryable_responses_declare_their_headers(path: Path) -> None:
    doc = OPENAPI[path]
    wanted: list[tuple[str, str, dict[str, Any], str]] = []
    for op, status, response, body in _responses(doc):
        if status == "201":
            wanted.append((op, status, response, "Location"))
        if status.startswith("2") and "version" in body.get("properties", {}):
            wanted.append((op, status, response, "ETag"))
        if status in ("429", "503") and PROBLEM_JSON in response.get("content", {}):
            wanted.append((op, status, response, "Retry-After"))
    assert "Retry-After" in {name for *_, name in wanted}  # not vacuous
    missing = [
        f"{op} {status} {name}"
        for op, status, response, name in wanted
        if not _declares(doc, response, name)
    ]
    assert not missing


@pytest.mark.parametrize("path", sorted(OPENAPI), ids=lambda p: p.name)
def test_the_problem_codes_a_document_lists_are_registered(path: Path) -> None:
    code = OPENAPI[path]["components"]["schemas"]["Problem"]["properties"]["code"]
    listed = code["x-extensible-enum"]
    assert code["type"] == "string"  # an open list: generated clients accept new codes
    assert "enum" not in code
    assert set(listed) <= set(PROBLEMS)
    assert set(listed) >= {str(c) for c in SHARED}
    assert listed == sorted(set(listed))


@pytest.mark.parametrize("path", sorted(OPENAPI), ids=lambda p: p.name)
def test_every_address_and_point_has_one_shape(path: Path) -> None:
    postal = set(Address.model_fields)
    for name, schema in OPENAPI[path]["components"]["schemas"].items():
        fields = set(schema.get("properties", {}))
        assert not fields & {"lat", "lon", "lng", "long"}, f"{name}: say latitude/longitude"
        if "latitude" in fields or "longitude" in fields:
            assert {"latitude", "longitude"} <= fields, name
        if "postal_code" in fields:
            assert postal <= fields, f"{name} is an address of another shape"
