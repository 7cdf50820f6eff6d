"""What every OMS API says the same way, declared in its OpenAPI document by one function each
rather than route by route: the response headers (correlation id, ETag, Location,
Retry-After) and the problem codes the service can answer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

from libs.errors import DomainError
from libs.http.problem_codes import SHARED
from libs.observability.correlation import CORRELATION_HEADER

HEADERS: dict[str, dict[str, Any]] = {
    CORRELATION_HEADER: {
        "description": "The correlation id of the request: the one it sent (cut to 128 "
        "characters), or a new one. Every event the request causes carries it too; quote it "
        "when reporting a problem.",
        "required": True,
        "schema": {"type": "string", "maxLength": 128},
    },
    "ETag": {
        "description": "The resource's version: send it in If-Match to update this version.",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+"$', "examples": ['"3"']},
    },
    "Location": {
        "description": "The path of the resource the request created.",
        "required": True,
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying the request.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}

PROBLEM_CODES_DOC = (
    "The stable, machine-readable reason: one of `x-extensible-enum` (docs/errors.md says "
    "what each means and what to do). Treat a code you do not know like any other error of "
    "its status: new codes may be added without a new major version."
)


def declare_response_headers(doc: dict[str, Any]) -> dict[str, Any]:
    """Declares the headers the shared edge and the routes send, on the responses that carry
    them: the correlation id on every response (the outermost middleware sets it); an ETag on
    a 2xx response whose body is a versioned resource (an object with a `version`: every route
    answering one sets its ETag); Location on 201; Retry-After on a 429 or 503 problem (each
    of them says when to come back)."""
    components = doc.setdefault("components", {})
    components["headers"] = {**components.get("headers", {}), **HEADERS}
    schemas = components.get("schemas", {})
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                names = [CORRELATION_HEADER]
                if status.startswith("2") and _versioned(response, schemas):
                    names.append("ETag")
                if status == "201":
                    names.append("Location")
                if status in ("429", "503") and _is_problem(response):
                    names.append("Retry-After")
                headers = response.setdefault("headers", {})
                for name in names:
                    headers[name] = {"$ref": f"#/components/headers/{name}"}
    return doc


def declare_problem_codes(doc: dict[str, Any], codes: Iterable[str]) -> dict[str, Any]:
    """Lists the codes on the Problem schema's `code`, as an extensible enum (see
    libs.http.problem_codes for why not `enum`)."""
    problem = doc.get("components", {}).get("schemas", {}).get("Problem")
    if problem is not None:
        problem["properties"]["code"] = {
            **problem["properties"]["code"],
            "description": PROBLEM_CODES_DOC,
            "x-extensible-enum": sorted(set(codes)),
        }
    return doc


def service_problem_codes(routers: Iterable[APIRouter]) -> list[str]:
    """The codes a service can answer: the shared ones, and those of the domain errors its
    own package defines (found through the package its routes live in)."""
    packages = {
        _package(route.endpoint.__module__)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    own = {cls.code for cls in _subclasses(DomainError) if _package(cls.__module__) in packages}
    return sorted({*map(str, SHARED), *own})


def _package(module: str) -> str:
    """`services.<name>` of a service module; a library module is no service's."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "services" else ""


def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _is_problem(response: dict[str, Any]) -> bool:
    return any(media.endswith("problem+json") for media in response.get("content", {}))


def _versioned(response: dict[str, Any], schemas: dict[str, Any]) -> bool:
    for media in response.get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            schema = schemas.get(ref.rsplit("/", 1)[-1], {})
            if "version" in schema.get("properties", {}):
                return True
    return False
