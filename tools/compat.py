"""The breaking-change gate: the committed contracts against the last released ones.

`python -m tools.compat --release` copies contracts/openapi/*.json and contracts/events/**/*.json
into contracts/released/ (same layout): the baseline, "the last released version".
`python -m tools.compat` compares every released document with the current one, prints each
breaking change and exits 1 if there is any.

Who writes a value decides what breaks it:
- Parameters and request bodies (clients write, the server reads): the server must still accept
  all it accepted. Breaking: a removed operation, parameter, field or body; a new required
  parameter or field, or one that became required; a body that became required; a narrowed
  value: a type or anyOf/oneOf alternative dropped (e.g. no longer nullable), an enum value
  dropped, a new or changed const, pattern or format, a tighter bound (minimum, maximum and their
  exclusive forms, min/maxLength, min/maxItems, min/maxProperties), undeclared fields refused.
- 2xx JSON responses and event data (the server or producer writes, clients read): every client
  must still understand what it gets. Breaking: a removed operation, 2xx response or field; a
  field that was required and may now be absent; a widened value: a new type or anyOf/oneOf
  alternative (e.g. becoming nullable); a const that changed (consts are discriminators clients
  dispatch on); a format that changed or was dropped (clients parse by it).
- Policy: a new enum value in a response or an event is NOT breaking. Clients must tolerate enum
  values they do not know (treat them as "other"), just as they must ignore new fields.
- Security (clients send credentials, the server checks them): breaking when a client that met
  one of an operation's old security requirements meets none of the new ones (credentials newly
  required, or a scope added).
- Events: the type version is part of the file name, so a breaking change is a new
  `<type>.v<N+1>.json` published beside the old one. A released event schema that no longer
  exists is breaking.
- A document whose info.version MAJOR part changed may break anything: nothing is reported.
  The event schemas' version is the AsyncAPI document's (events/asyncapi.json, not compared
  itself): when its major part changed, no event schema change is reported, a removed type
  version included. That is for a change that must not be published beside the old version
  (oms.order.placed.v1 carried the payment token); a baseline without the AsyncAPI document
  was released at events version 1.

What it covers: local $refs (JSON pointers such as #/components/schemas/X or #/$defs/X; cycles
guarded), allOf (merged), anyOf/oneOf and `type` lists (alternatives, paired by type and then by
the $ref they come from), properties, required, items, additionalProperties, enum, const,
format, pattern and the bounds above; parameters, request bodies and 2xx responses, their own
$refs included. It is not a JSON Schema subsumption checker: patterns and formats only count as
"changed"; defaults, not/if/then, prefixItems, propertyNames, dependentRequired, discriminators,
response headers, non-JSON media types and 4xx/5xx bodies are not compared; a renamed path
parameter reads as a removed operation (conservative).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from libs.messaging.envelope import parse_dataschema

ROOT = Path(__file__).resolve().parents[1]
RELEASED = Path("contracts") / "released"
# Written by another generator and not gated here (it describes the event schemas it refers to).
IGNORED = frozenset({"asyncapi.json"})
ASYNCAPI = Path("events") / "asyncapi.json"
# The events' major version of a baseline released before the AsyncAPI document was kept in it.
_FIRST_EVENTS_MAJOR = "1"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

Schema = dict[str, Any]
Direction = Literal["request", "response"]
Trail = frozenset[tuple[str | None, str | None]]

# Which bounds a request may not tighten: (what they bound, lower keywords, upper keywords), the
# exclusive keyword second.
_BOUNDS = (
    ("value", ("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")),
    ("length", ("minLength",), ("maxLength",)),
    ("item count", ("minItems",), ("maxItems",)),
    ("property count", ("minProperties",), ("maxProperties",)),
)
_JSON_KINDS = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
    list: "array",
    dict: "object",
}


def breaking_changes(old_doc: Schema, new_doc: Schema) -> list[str]:
    """What `new_doc` breaks for clients of `old_doc` (two OpenAPI documents)."""
    if _major(old_doc) != _major(new_doc):
        return []
    found: list[str] = []
    new_paths = new_doc.get("paths", {})
    for route, old_item in old_doc.get("paths", {}).items():
        new_item = new_paths.get(route, {})
        for method in HTTP_METHODS:
            if method not in old_item:
                continue
            name = f"{method.upper()} {route}"
            if method not in new_item:
                found.append(f"{name}: operation removed")
                continue
            found += _operation_changes(name, (old_doc, old_item, method), (new_doc, new_item))
    return _unique(found)


def breaking_event_changes(
    old_schema: Schema, new_schema: Schema, where: str | None = None
) -> list[str]:
    """What `new_schema` breaks for subscribers of `old_schema` (an event's data, or envelope)."""
    where = where or _event_name(old_schema)
    comparison = _Comparison(old_schema, new_schema, "response", root_label="data")
    return _unique(f"{where}: {m}" for m in comparison.compare(old_schema, new_schema, ""))


def _operation_changes(
    name: str, old: tuple[Schema, Schema, str], new: tuple[Schema, Schema]
) -> list[str]:
    (old_doc, old_item, method), (new_doc, new_item) = old, new
    old_op, new_op = old_item[method], new_item[method]
    requests = _Comparison(old_doc, new_doc, "request", root_label="value")
    found: list[str] = []

    old_params = _parameters(old_item, old_op, old_doc)
    new_params = _parameters(new_item, new_op, new_doc)
    for key, param in old_params.items():
        label = f"parameter '{param['name']}' ({key[0]})"
        new_param = new_params.get(key)
        if new_param is None:
            found.append(f"{name}: {label} removed")
            continue
        if new_param.get("required") and not param.get("required"):
            found.append(f"{name}: {label} is now required")
        changes = requests.compare(param.get("schema", {}), new_param.get("schema", {}), "")
        found += [f"{name} {label}: {m}" for m in changes]
    for key, param in new_params.items():
        if key not in old_params and param.get("required"):
            found.append(f"{name}: new required parameter '{param['name']}' ({key[0]})")

    found += _security_changes(name, _security(old_op, old_doc), _security(new_op, new_doc))

    requests.root_label = "body"
    old_body = _resolved(old_op.get("requestBody"), old_doc)
    new_body = _resolved(new_op.get("requestBody"), new_doc)
    where = f"{name} request"
    if old_body is not None and new_body is None:
        found.append(f"{where}: body removed")
    elif new_body is not None and new_body.get("required") and not (old_body or {}).get("required"):
        found.append(f"{where}: body is now required")
    if old_body is not None and new_body is not None:
        found += _media_changes(where, requests, old_body, new_body, "accepts")

    responses = _Comparison(old_doc, new_doc, "response", root_label="body")
    new_responses = new_op.get("responses", {})
    for status, old_response in old_op.get("responses", {}).items():
        if not str(status).startswith("2"):
            continue
        where = f"{name} {status}"
        new_response = _resolved(new_responses.get(status), new_doc)
        if new_response is None:
            found.append(f"{where}: response removed")
            continue
        old_response = _resolved(old_response, old_doc) or {}
        found += _media_changes(where, responses, old_response, new_response, "returns")
    return found


def _security(op: Schema, doc: Schema) -> list[dict[str, set[str]]]:
    """The operation's security alternatives (any one suffices); `{}` is anonymous access."""
    requirements: list[Schema] = op.get("security", doc.get("security")) or []
    return [{scheme: set(scopes) for scheme, scopes in r.items()} for r in requirements] or [{}]


def _security_changes(
    name: str, old: list[dict[str, set[str]]], new: list[dict[str, set[str]]]
) -> list[str]:
    """A client that met one of the old requirements must still meet one of the new."""

    def meets(held: dict[str, set[str]], needed: dict[str, set[str]]) -> bool:
        return all(scheme in held and scopes <= held[scheme] for scheme, scopes in needed.items())

    return [
        f"{name}: a client with {_credentials(held)} no longer meets its security requirement"
        for held in old
        if not any(meets(held, needed) for needed in new)
    ]


def _credentials(held: dict[str, set[str]]) -> str:
    if not held:
        return "no credentials"
    return " and ".join(f"{scheme} {sorted(scopes)}" for scheme, scopes in held.items())


def _media_changes(
    where: str, comparison: _Comparison, old: Schema, new: Schema, verb: str
) -> list[str]:
    found: list[str] = []
    new_content = new.get("content", {})
    for media, old_media in old.get("content", {}).items():
        if not (media == "application/json" or media.endswith("+json")):
            continue
        if media not in new_content:
            found.append(f"{where}: no longer {verb} {media}")
            continue
        changes = comparison.compare(
            old_media.get("schema", {}), new_content[media].get("schema", {}), ""
        )
        found += [f"{where}: {m}" for m in changes]
    return found


def _parameters(item: Schema, op: Schema, doc: Schema) -> dict[tuple[str, str], Schema]:
    """An operation's parameters (its path item's included) by (location, name)."""
    params: dict[tuple[str, str], Schema] = {}
    for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
        param = _resolved(raw, doc) or {}
        # HTTP header names are case-insensitive: a change of case is no change.
        name = param["name"].lower() if param["in"] == "header" else param["name"]
        params[(param["in"], name)] = param
    return params


@dataclass(frozen=True)
class _Alt:
    """One alternative of a schema (an anyOf branch, one `type` of a list, or the schema)."""

    kind: str  # a JSON type, or "any" when the schema does not restrict the type
    ref: str | None  # the $ref it was reached through: pairs alternatives of one kind
    schema: Schema  # $ref followed and allOf merged

    @property
    def label(self) -> str:
        return f"{self.kind} ({self.ref.rsplit('/', 1)[-1]})" if self.ref else self.kind


@dataclass
class _Comparison:
    """Compares schemas of one document pair, in one direction (who writes the value)."""

    old_root: Schema
    new_root: Schema
    direction: Direction
    root_label: str

    def compare(self, old: Schema, new: Schema, path: str, trail: Trail = frozenset()) -> list[str]:
        olds = _alternatives(old, self.old_root)
        news = _alternatives(new, self.new_root)
        pairs, lost, gained = _pair(olds, news)
        subject = self._subject(path)
        found: list[str] = []
        if self.direction == "request":
            for alt in (a for a in lost if not _covers(news, a)):
                if alt.kind == "any":
                    found.append(f"{subject} is now restricted to {_labels(news)}")
                else:
                    found.append(f"{subject} no longer accepts {alt.label}")
        else:
            for alt in gained:
                if not _covers(olds, alt):
                    found.append(f"{subject} may now be {alt.label}")
        for old_alt, new_alt in pairs:
            # A cycle is a pair of $refs met again on the way down: nothing new below it.
            key = (old_alt.ref, new_alt.ref)
            if key != (None, None) and key in trail:
                continue
            deeper = trail | {key} if key != (None, None) else trail
            found += self._compare_alternative(old_alt, new_alt, path, deeper)
        return found

    def _compare_alternative(self, old: _Alt, new: _Alt, path: str, trail: Trail) -> list[str]:
        subject = self._subject(path)
        found = self._value_changes(subject, old, new)
        if old.kind == new.kind == "object":
            found += self._object_changes(old.schema, new.schema, path, trail)
        old_items, new_items = old.schema.get("items", True), new.schema.get("items", True)
        if isinstance(old_items, dict) or isinstance(new_items, dict):
            found += self.compare(_as_schema(old_items), _as_schema(new_items), path + "[]", trail)
        return found

    def _value_changes(self, subject: str, old_alt: _Alt, new_alt: _Alt) -> list[str]:
        old, new = old_alt.schema, new_alt.schema
        found: list[str] = []
        old_values, new_values = _values(old), _values(new)
        old_format, new_format = old.get("format"), new.get("format")
        if self.direction == "response":
            if (old_alt.kind, new_alt.kind) == ("integer", "number"):
                found.append(f"{subject} may now be a non-integer number")
            # Only a const counts: new enum values are the policy's tolerated change.
            if old_values is not None and len(old_values) == 1 and new_values != old_values:
                found.append(f"{subject} is no longer always {old_values[0]!r}")
            if old_format is not None and new_format != old_format:
                found.append(f"{subject} no longer has format '{old_format}'")
            return found
        if (old_alt.kind, new_alt.kind) == ("number", "integer"):
            found.append(f"{subject} no longer accepts non-integer numbers")
        if new_values is not None and old_values is None:
            found.append(f"{subject} is now restricted to {_show(new_values)}")
        elif new_values is not None and old_values is not None:
            dropped = [v for v in old_values if v not in new_values]
            if dropped:
                found.append(f"{subject} no longer accepts {_show(dropped)}")
        if new_format is not None and new_format != old_format:
            found.append(f"{subject} now requires format '{new_format}'")
        if "pattern" in new and new["pattern"] != old.get("pattern"):
            found.append(f"{subject} pattern changed to {new['pattern']!r}")
        for what, lower, upper in _BOUNDS:
            old_low, new_low = _lower(old, lower), _lower(new, lower)
            if new_low is not None and (old_low is None or new_low > old_low):
                found.append(f"{subject} {what} {_low(old_low)} tightened to {_low(new_low)}")
            old_high, new_high = _upper(old, upper), _upper(new, upper)
            if new_high is not None and (old_high is None or new_high < old_high):
                found.append(f"{subject} {what} {_high(old_high)} tightened to {_high(new_high)}")
        return found

    def _object_changes(self, old: Schema, new: Schema, path: str, trail: Trail) -> list[str]:
        found: list[str] = []
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, old_prop in old_props.items():
            field = _join(path, name)
            if name not in new_props:
                found.append(f"field '{field}' removed")
                continue
            if self.direction == "response" and name in old_required - new_required:
                found.append(f"field '{field}' may now be absent")
            found += self.compare(old_prop, new_props[name], field, trail)
        if self.direction == "request":
            for name in new_props:
                if name in new_required - old_required:
                    field = _join(path, name)
                    if name in old_props:
                        found.append(f"field '{field}' is now required")
                    else:
                        found.append(f"new required field '{field}'")
        # Absent additionalProperties means "anything"; False means "nothing undeclared".
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        typed = isinstance(old_extra, dict) or isinstance(new_extra, dict)
        if self.direction == "request" and new_extra is False and old_extra is not False:
            found.append(f"{self._subject(path)} no longer accepts undeclared fields")
        elif typed and old_extra is not False and new_extra is not False:
            extra = path + "{}"
            found += self.compare(_as_schema(old_extra), _as_schema(new_extra), extra, trail)
        return found

    def _subject(self, path: str) -> str:
        return f"field '{path}'" if path else self.root_label


def _alternatives(schema: Schema, root: Schema, seen: frozenset[str] = frozenset()) -> list[_Alt]:
    flat, ref = _flatten(schema, root, seen)
    branches = [*flat.get("anyOf", []), *flat.get("oneOf", [])]
    if branches:
        inner = seen | {ref} if ref else seen
        return [alt for branch in branches for alt in _alternatives(branch, root, inner)]
    types = flat.get("type")
    if isinstance(types, list):
        return [_Alt(t, ref, {**flat, "type": t}) for t in types]
    return [_Alt(_kind(flat), ref, flat)]


def _flatten(
    schema: Schema, root: Schema, seen: frozenset[str] = frozenset()
) -> tuple[Schema, str | None]:
    """The schema with its $ref followed (siblings kept) and allOf merged; and the $ref."""
    flat, followed = dict(schema), None
    while "$ref" in flat:
        ref = flat.pop("$ref")
        if ref in seen:  # a schema made only of itself: nothing more to learn
            break
        seen, followed = seen | {ref}, ref
        flat = {**_pointer(root, ref), **flat}
    parts = flat.pop("allOf", [])
    for part in parts:
        merged, part_ref = _flatten(part, root, seen)
        flat = _merge(flat, merged)
        # pydantic wraps a described $ref as allOf: [{$ref}]: that is still the ref's schema.
        if followed is None and len(parts) == 1:
            followed = part_ref
    return flat, followed


def _merge(base: Schema, extra: Schema) -> Schema:
    merged = {**extra, **base}
    if "properties" in base or "properties" in extra:
        merged["properties"] = {**extra.get("properties", {}), **base.get("properties", {})}
    if "required" in base or "required" in extra:
        merged["required"] = [*base.get("required", []), *extra.get("required", [])]
    return merged


def _pointer(root: Schema, ref: str) -> Schema:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, not {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    if not isinstance(node, dict):
        raise ValueError(f"$ref {ref!r} does not point at an object")
    return node


def _resolved(obj: Schema | None, root: Schema) -> Schema | None:
    return None if obj is None else _flatten(obj, root)[0]


def _pair(
    old: list[_Alt], new: list[_Alt]
) -> tuple[list[tuple[_Alt, _Alt]], list[_Alt], list[_Alt]]:
    """Pairs alternatives to compare; returns the pairs, the unpaired old and new ones."""
    pairs: list[tuple[_Alt, _Alt]] = []
    old_left, new_left = list(old), list(new)
    rules: tuple[Callable[[_Alt, _Alt], bool], ...] = (
        lambda o, n: (o.kind, o.ref) == (n.kind, n.ref),
        lambda o, n: o.kind == n.kind,
        lambda o, n: {o.kind, n.kind} == {"integer", "number"},
    )
    for same in rules:
        for old_alt in list(old_left):
            match = next((n for n in new_left if same(old_alt, n)), None)
            if match is not None:
                pairs.append((old_alt, match))
                old_left.remove(old_alt)
                new_left.remove(match)
    return pairs, old_left, new_left


def _covers(alts: list[_Alt], alt: _Alt) -> bool:
    """Whether some of `alts` allows every value `alt` allows (by type only)."""
    for other in alts:
        if other.kind == "any" or (alt.kind, other.kind) == ("integer", "number"):
            return True
        if other.kind == alt.kind and None in (other.ref, alt.ref):
            return True
    return False


def _kind(flat: Schema) -> str:
    if isinstance(flat.get("type"), str):
        return str(flat["type"])
    if {"properties", "additionalProperties", "required"} & flat.keys():
        return "object"
    if "items" in flat:
        return "array"
    kinds = {_JSON_KINDS.get(type(v), "any") for v in _values(flat) or []}
    return kinds.pop() if len(kinds) == 1 else "any"


def _values(flat: Schema) -> list[Any] | None:
    """The values a schema allows when it lists them (const, enum); None when it does not."""
    if "const" in flat:
        return [flat["const"]]
    enum = flat.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _lower(schema: Schema, keywords: tuple[str, ...]) -> tuple[float, bool] | None:
    # (value, exclusive): at one value an exclusive bound is the tighter, i.e. the greater, one.
    bounds = [(schema[k], i == 1) for i, k in enumerate(keywords) if k in schema]
    return max(bounds) if bounds else None


def _upper(schema: Schema, keywords: tuple[str, ...]) -> tuple[float, bool] | None:
    # (value, inclusive): at one value an exclusive bound is the tighter, i.e. the smaller, one.
    bounds = [(schema[k], i != 1) for i, k in enumerate(keywords) if k in schema]
    return min(bounds) if bounds else None


def _low(bound: tuple[float, bool] | None) -> str:
    return "unbounded" if bound is None else f"{'>' if bound[1] else '>='} {bound[0]:g}"


def _high(bound: tuple[float, bool] | None) -> str:
    return "unbounded" if bound is None else f"{'<=' if bound[1] else '<'} {bound[0]:g}"


def _as_schema(value: Any) -> Schema:
    return value if isinstance(value, dict) else {}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(values: list[Any]) -> str:
    return ", ".join(repr(v) for v in values)


def _labels(alts: list[_Alt]) -> str:
    return " | ".join(alt.label for alt in alts)


def _unique(messages: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(messages))


def _major(doc: Schema) -> str:
    return str(doc.get("info", {}).get("version", "")).split(".")[0]


def _event_name(schema: Schema) -> str:
    parsed = parse_dataschema(str(schema.get("$id", "")))
    if parsed is None:
        return str(schema.get("title", "event"))
    _, event_type, version = parsed
    return f"{event_type}.v{version}"


def _documents(base: Path) -> list[Path]:
    """The gated documents under `base` (contracts/ or contracts/released/)."""
    found = [*(base / "openapi").glob("*.json"), *(base / "events").rglob("*.json")]
    return sorted(p for p in found if p.name not in IGNORED)


def release(root: Path = ROOT) -> list[Path]:
    """Makes the current contracts the released baseline; returns the files written."""
    contracts = root / "contracts"
    documents = _documents(contracts)
    if not documents:
        raise SystemExit(f"no contracts under {contracts}: nothing to release")
    target = root / RELEASED
    if target.exists():
        shutil.rmtree(target)  # a document dropped since the last release leaves the baseline
    written = []
    if (contracts / ASYNCAPI).is_file():  # not gated, but its version is the events' version
        documents.append(contracts / ASYNCAPI)
    for source in documents:
        copy = target / source.relative_to(contracts)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(source.read_bytes())
        written.append(copy)
    return written


def check(root: Path = ROOT) -> list[str]:
    """Every breaking change of the current contracts against the released baseline."""
    released = root / RELEASED
    if not released.is_dir():
        return [f"no released baseline at {RELEASED}: run `python -m tools.compat --release`"]
    found: list[str] = []
    events_bumped = _events_major(released) != _events_major(root / "contracts")
    for old_path in _documents(released):
        relative = old_path.relative_to(released)
        label = relative.as_posix()
        current = root / "contracts" / relative
        if relative.parts[0] == "events" and events_bumped:
            continue
        if relative.parts[0] == "events" and not current.exists():
            found.append(f"{label}: removed (publish a new type version beside it, never replace)")
        elif not current.exists():
            found.append(f"{label}: removed")
        elif relative.parts[0] == "events":
            found += breaking_event_changes(_load(old_path), _load(current), where=label)
        else:
            found += [f"{label}: {m}" for m in breaking_changes(_load(old_path), _load(current))]
    return found


def _events_major(base: Path) -> str:
    """The major events version of contracts/ or of a baseline (its AsyncAPI document's)."""
    document = base / ASYNCAPI
    return _major(_load(document)) if document.is_file() else _FIRST_EVENTS_MAJOR


def _load(path: Path) -> Schema:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a JSON object")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--release", action="store_true", help=f"copy the current contracts into {RELEASED}"
    )
    args = parser.parse_args(argv)
    if args.release:
        written = release(ROOT)
        print(f"released {len(written)} contracts into {RELEASED}")
        return 0
    found = check(ROOT)
    for change in found:
        print(change)
    if found:
        print(
            f"{len(found)} breaking change(s) against {RELEASED}: restore compatibility, or bump"
            " the major info.version / publish a new event type version",
            file=sys.stderr,
        )
        return 1
    print(f"no breaking change against {RELEASED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
