"""Gives every operation of an OpenAPI document an example request and success response.

Schemas carry `examples` where a person wrote one; operations show them only through `$ref`s,
which many client generators and doc viewers do not follow. So each JSON request body and
2xx response gets an explicit `example`, taken from the schema's own example or, for
generic wrappers such as pages, assembled from the examples of its parts.
"""

from __future__ import annotations

from typing import Any

_PLACEHOLDER_BY_TYPE: dict[str, Any] = {
    "string": "string",
    "integer": 0,
    "number": 0,
    "boolean": False,
    "null": None,
}
_MAX_DEPTH = 8


def add_operation_examples(doc: dict[str, Any]) -> dict[str, Any]:
    components = doc.get("components", {}).get("schemas", {})
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            media = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
            for status, response in operation.get("responses", {}).items():
                if status.startswith("2"):
                    media.append(response.get("content", {}).get("application/json"))
            for entry in media:
                if entry and "schema" in entry and "example" not in entry:
                    entry["example"] = example_of(entry["schema"], components)
    return doc


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    if "$ref" in schema:
        return example_of(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if depth > _MAX_DEPTH:
        return None
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return example_of(options[0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: example_of(prop, components, depth + 1)
            for name, prop in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), components, depth + 1)]
    if schema.get("format") == "uuid":
        return "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b"
    if schema.get("format") == "date-time":
        return "2026-11-22T10:15:00Z"
    return _PLACEHOLDER_BY_TYPE.get(str(kind))
