"""The breaking-change gate (tools/compat.py) passes the committed contracts and names each break.

Each break is made on a deep copy of a committed document, so the tests follow the real schemas
(pydantic's $refs, anyOf and enums) rather than a hand-written imitation of them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools.compat import (
    RELEASED,
    ROOT,
    breaking_changes,
    breaking_event_changes,
    check,
    main,
    release,
)

pytestmark = pytest.mark.unit

ORDER_CAPTURE = ROOT / "contracts" / "openapi" / "order-capture.json"
# The released v1 (the current type is v2, without the payment token): a sample of an event.
ORDER_PLACED = (
    ROOT / "contracts" / "released" / "events" / "oms.order.events" / "oms.order.placed.v1.json"
)
GET_ORDER = "GET /v1/orders/{order_id} 200"
PLACE_ORDER = "POST /v1/orders request"


def _load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture
def released() -> dict[str, Any]:
    return _load(ORDER_CAPTURE)


@pytest.fixture
def current(released: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(released)


def _schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    schema = doc["components"]["schemas"][name]
    assert isinstance(schema, dict)
    return schema


def _remove_field(schema: dict[str, Any], name: str) -> None:
    del schema["properties"][name]
    schema["required"] = [field for field in schema.get("required", []) if field != name]


def test_the_committed_contracts_pass_the_gate_against_the_release() -> None:
    assert (ROOT / RELEASED / "openapi" / "order-capture.json").exists()
    assert check() == []


def test_the_command_exits_0_on_the_committed_contracts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "no breaking change" in capsys.readouterr().out


def test_a_removed_response_field_is_named_wherever_it_is_returned(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    _remove_field(_schema(current, "OrderRead"), "status")

    changes = breaking_changes(released, current)

    assert f"{GET_ORDER}: field 'status' removed" in changes
    assert "POST /v1/orders 201: field 'status' removed" in changes
    assert "GET /v1/orders 200: field 'items[].status' removed" in changes


def test_a_new_major_api_version_may_break_and_a_minor_one_may_not(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    _remove_field(_schema(current, "OrderRead"), "status")

    major = int(released["info"]["version"].split(".")[0])
    current["info"]["version"] = f"{major}.1.0"
    assert breaking_changes(released, current) != []
    current["info"]["version"] = f"{major + 1}.0.0"
    assert breaking_changes(released, current) == []


def test_a_removed_operation_is_breaking(released: dict[str, Any], current: dict[str, Any]) -> None:
    del current["paths"]["/v1/orders/{order_id}"]["patch"]

    assert breaking_changes(released, current) == ["PATCH /v1/orders/{order_id}: operation removed"]


def test_a_removed_2xx_response_is_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    responses = current["paths"]["/v1/orders"]["post"]["responses"]
    responses["200"] = responses.pop("201")

    assert breaking_changes(released, current) == ["POST /v1/orders 201: response removed"]


def test_new_required_request_fields_are_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    order = _schema(current, "OrderCreate")
    order["properties"]["priority"] = {"type": "integer"}
    order["required"].append("priority")
    order["required"].append("requested_delivery_date")  # existed, was optional
    line = _schema(current, "OrderLineCreate")
    line["properties"]["warehouse"] = {"type": "string"}
    line["required"].append("warehouse")

    assert sorted(breaking_changes(released, current)) == [
        f"{PLACE_ORDER}: field 'requested_delivery_date' is now required",
        f"{PLACE_ORDER}: new required field 'lines[].warehouse'",
        f"{PLACE_ORDER}: new required field 'priority'",
    ]


def test_a_removed_request_field_is_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    _remove_field(_schema(current, "OrderLineCreate"), "tax_amount")

    assert breaking_changes(released, current) == [
        f"{PLACE_ORDER}: field 'lines[].tax_amount' removed"
    ]


def test_an_enum_value_removed_from_a_request_is_breaking_wherever_clients_send_it(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    _schema(current, "Channel")["enum"].remove("phone")

    changes = breaking_changes(released, current)

    assert f"{PLACE_ORDER}: field 'channel' no longer accepts 'phone'" in changes
    assert "GET /v1/orders parameter 'channel' (query): value no longer accepts 'phone'" in changes
    # Responses that carry the channel only return fewer values: nothing breaks there.
    assert all(" request: " in c or " parameter " in c for c in changes), changes


def test_a_new_enum_value_is_not_breaking_even_in_responses(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    # Policy (tools/compat.py): clients must tolerate enum values they do not know.
    _schema(current, "OrderStatus")["enum"].append("archived")

    assert breaking_changes(released, current) == []


@pytest.mark.parametrize(
    ("schema", "field", "change", "expected"),
    [
        ("OrderCreate", "channel_order_ref", {"maxLength": 50}, "length <= 100 tightened to <= 50"),
        ("OrderCreate", "channel_order_ref", {"minLength": 2}, "length >= 1 tightened to >= 2"),
        ("OrderCreate", "lines", {"maxItems": 100}, "item count <= 500 tightened to <= 100"),
        ("OrderLineCreate", "quantity", {"maximum": 100}, "value <= 10000 tightened to <= 100"),
        ("OrderCreate", "currency", {"pattern": "^EUR$"}, "pattern changed to '^EUR$'"),
        ("OrderCreate", "currency", {"const": "EUR"}, "is now restricted to 'EUR'"),
        ("OrderCreate", "currency", {"format": "iso4217"}, "now requires format 'iso4217'"),
        ("OrderLineCreate", "quantity", {"type": "string"}, "no longer accepts integer"),
    ],
)
def test_a_narrowed_request_value_is_breaking(
    released: dict[str, Any],
    current: dict[str, Any],
    schema: str,
    field: str,
    change: dict[str, Any],
    expected: str,
) -> None:
    _schema(current, schema)["properties"][field].update(change)

    path = f"lines[].{field}" if schema == "OrderLineCreate" else field
    assert breaking_changes(released, current) == [f"{PLACE_ORDER}: field '{path}' {expected}"]


def test_a_request_that_refuses_undeclared_fields_is_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    del _schema(released, "OrderPatch")["additionalProperties"]

    assert breaking_changes(released, current) == [
        "PATCH /v1/orders/{order_id} request: body no longer accepts undeclared fields"
    ]


def test_a_request_field_that_is_no_longer_nullable_is_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    _schema(current, "OrderCreate")["properties"]["notes"] = {"type": "string"}

    assert breaking_changes(released, current) == [
        f"{PLACE_ORDER}: field 'notes' no longer accepts null"
    ]


def test_a_request_body_that_became_required_is_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    route = "/v1/self-service/orders/{order_number}/cancel"
    released["paths"][route]["post"]["requestBody"]["required"] = False

    assert breaking_changes(released, current) == [f"POST {route} request: body is now required"]


def test_removed_and_newly_required_parameters_are_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    listing = current["paths"]["/v1/orders"]["get"]
    listing["parameters"] = [p for p in listing["parameters"] if p["name"] != "sku"]
    next(p for p in listing["parameters"] if p["name"] == "channel")["required"] = True
    listing["parameters"].append(
        {"name": "tenant", "in": "header", "required": True, "schema": {"type": "string"}}
    )

    assert breaking_changes(released, current) == [
        "GET /v1/orders: parameter 'channel' (query) is now required",
        "GET /v1/orders: parameter 'sku' (query) removed",
        "GET /v1/orders: new required parameter 'tenant' (header)",
    ]


def test_a_response_field_that_becomes_nullable_is_breaking_and_a_request_one_is_not(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    nullable_string = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    _schema(current, "OrderRead")["properties"]["currency"] = nullable_string
    _schema(current, "OrderCreate")["properties"]["currency"] = nullable_string

    changes = breaking_changes(released, current)

    assert f"{GET_ORDER}: field 'currency' may now be null" in changes
    assert not [c for c in changes if " request: " in c]


def test_a_response_field_that_may_now_be_absent_is_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    _schema(current, "OrderRead")["required"].remove("version")

    assert f"{GET_ORDER}: field 'version' may now be absent" in breaking_changes(released, current)


def test_additions_are_not_breaking(released: dict[str, Any], current: dict[str, Any]) -> None:
    _schema(current, "OrderCreate")["properties"]["gift_message"] = {"type": "string"}
    _schema(current, "OrderRead")["properties"]["risk_score"] = {"type": "number"}
    _schema(current, "OrderRead")["required"].append("risk_score")
    current["paths"]["/v1/orders/{order_id}/notes"] = {
        "get": {"responses": {"200": {"description": "ok"}}}
    }
    listing = current["paths"]["/v1/orders"]["get"]
    listing["parameters"].append({"name": "tag", "in": "query", "schema": {"type": "string"}})

    assert breaking_changes(released, current) == []


def test_a_field_removed_from_an_event_is_breaking() -> None:
    released = _load(ORDER_PLACED)
    current = copy.deepcopy(released)
    _remove_field(current, "order_id")

    assert breaking_event_changes(released, current) == [
        "oms.order.placed.v1: field 'order_id' removed"
    ]


def test_events_are_read_like_responses() -> None:
    released = _load(ORDER_PLACED)
    current = copy.deepcopy(released)
    current["properties"]["currency"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    current["required"].remove("placed_at")
    current["properties"]["sales_rep"] = {"type": "string"}  # a new field: not breaking
    line = current["$defs"]["PlacedOrderLine"]
    _remove_field(line, "sku")

    assert sorted(breaking_event_changes(released, current)) == [
        "oms.order.placed.v1: field 'currency' may now be null",
        "oms.order.placed.v1: field 'lines[].sku' removed",
        "oms.order.placed.v1: field 'placed_at' may now be absent",
    ]


def test_recursive_schemas_are_compared_once_per_cycle() -> None:
    def tree(fields: dict[str, Any]) -> dict[str, Any]:
        node = {"type": "object", "properties": fields, "required": list(fields)}
        return {"$defs": {"Node": node}, "$ref": "#/$defs/Node", "title": "Tree"}

    children = {"type": "array", "items": {"$ref": "#/$defs/Node"}}
    released = tree({"name": {"type": "string"}, "children": children})
    current = tree({"children": children})

    assert breaking_event_changes(released, current) == ["Tree: field 'name' removed"]


def test_release_then_check_in_a_scratch_tree(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    (contracts / "openapi").mkdir(parents=True)
    (contracts / "events" / "topic").mkdir(parents=True)
    (contracts / "openapi" / "svc.json").write_text(ORDER_CAPTURE.read_text())
    event = contracts / "events" / "topic" / "oms.order.placed.v1.json"
    event.write_text(ORDER_PLACED.read_text())
    (contracts / "events" / "asyncapi.json").write_text("{}")
    assert check(tmp_path) == [
        f"no released baseline at {RELEASED}: run `python -m tools.compat --release`"
    ]

    written = release(tmp_path)

    assert sorted(p.relative_to(tmp_path / RELEASED).as_posix() for p in written) == [
        "events/asyncapi.json",  # not gated; its version is the events' version
        "events/topic/oms.order.placed.v1.json",
        "openapi/svc.json",
    ]
    assert check(tmp_path) == []
    # A new type version replaces the old one instead of being published beside it.
    event.rename(event.with_name("oms.order.placed.v2.json"))
    assert check(tmp_path) == [
        "events/topic/oms.order.placed.v1.json: removed"
        " (publish a new type version beside it, never replace)"
    ]
    # Unless the events' major version (the AsyncAPI document's) rose: nothing is reported.
    (contracts / "events" / "asyncapi.json").write_text('{"info": {"version": "2.0.0"}}')
    assert check(tmp_path) == []


def test_a_baseline_without_the_asyncapi_document_was_events_version_1(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    (contracts / "events" / "topic").mkdir(parents=True)
    event = contracts / "events" / "topic" / "oms.order.placed.v1.json"
    event.write_text(ORDER_PLACED.read_text())
    release(tmp_path)
    event.unlink()
    removed = [
        "events/topic/oms.order.placed.v1.json: removed"
        " (publish a new type version beside it, never replace)"
    ]

    (contracts / "events" / "asyncapi.json").write_text('{"info": {"version": "1.4.0"}}')
    assert check(tmp_path) == removed
    (contracts / "events" / "asyncapi.json").write_text('{"info": {"version": "2.0.0"}}')
    assert check(tmp_path) == []


def test_the_command_prints_each_breaking_change_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("tools.compat.ROOT", tmp_path)
    (tmp_path / "contracts" / "openapi").mkdir(parents=True)
    document = tmp_path / "contracts" / "openapi" / "order-capture.json"
    document.write_text(ORDER_CAPTURE.read_text())
    assert main(["--release"]) == 0
    changed = _load(document)
    del changed["paths"]["/v1/orders/{order_id}"]["patch"]
    document.write_text(json.dumps(changed))

    assert main([]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "openapi/order-capture.json: PATCH /v1/orders/{order_id}: operation removed"
    )


def _security(doc: dict[str, Any], requirements: list[dict[str, list[str]]]) -> None:
    doc["paths"]["/v1/orders/{order_id}"]["get"]["security"] = requirements


def test_credentials_newly_required_are_breaking(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    _security(released, [])
    _security(current, [{"bearerAuth": ["orders:read"]}])

    assert breaking_changes(released, current) == [
        "GET /v1/orders/{order_id}: a client with no credentials no longer meets its "
        "security requirement"
    ]


def test_a_scope_added_to_a_requirement_is_breaking_and_one_taken_away_is_not(
    released: dict[str, Any], current: dict[str, Any]
) -> None:
    _security(released, [{"bearerAuth": ["orders:read"]}])
    _security(current, [{"bearerAuth": ["orders:read", "admin"]}])
    assert breaking_changes(released, current) == [
        "GET /v1/orders/{order_id}: a client with bearerAuth ['orders:read'] no longer meets "
        "its security requirement"
    ]

    _security(released, [{"bearerAuth": ["orders:read", "admin"]}])
    _security(current, [{"bearerAuth": ["orders:read"]}, {"apiKey": []}])
    assert breaking_changes(released, current) == []
