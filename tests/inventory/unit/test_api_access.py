"""The edge of inventory as its OpenAPI document declares it: the scope of every operation,
and request bodies that refuse fields they do not declare (no mass assignment)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.inventory.api.app import create_app
from services.inventory.api.schemas.availability import AvailabilityRequest
from services.inventory.api.schemas.inbound import InboundCreate, InboundReceive
from services.inventory.api.schemas.locations import LocationCreate, LocationPatch
from services.inventory.api.schemas.reservations import (
    CommitRequest,
    ReleaseRequest,
    ReservationCreate,
)
from services.inventory.api.schemas.stock import (
    AdjustmentCreate,
    SkuPolicyUpdate,
    StockLevelUpdate,
)
from services.inventory.bootstrap import bootstrap

SCOPES = {
    "POST /v1/locations": "admin",
    "GET /v1/locations": "inventory:read",
    "GET /v1/locations/{code}": "inventory:read",
    "PATCH /v1/locations/{code}": "admin",
    "POST /v1/stock/imports": "inventory:adjust",
    "GET /v1/stock/imports": "inventory:read",
    "GET /v1/stock/imports/{import_id}": "inventory:read",
    "GET /v1/stock/imports/{import_id}/errors": "inventory:read",
    "PUT /v1/locations/{location_code}/stock/{sku}": "inventory:adjust",
    "POST /v1/stock/adjustments": "inventory:adjust",
    "GET /v1/stock/{sku}": "inventory:read",
    "GET /v1/stock/{sku}/movements": "inventory:read",
    "PUT /v1/skus/{sku}/policy": "inventory:adjust",
    "POST /v1/inbound": "inventory:adjust",
    "GET /v1/inbound": "inventory:read",
    "GET /v1/inbound/{inbound_id}": "inventory:read",
    "POST /v1/inbound/{inbound_id}/receive": "inventory:adjust",
    "POST /v1/inbound/{inbound_id}/cancel": "inventory:adjust",
    "POST /v1/inbound/{inbound_id}/reschedule": "inventory:adjust",
    "GET /v1/availability": "inventory:read",
    "POST /v1/availability": "inventory:read",
    "GET /v1/availability/compact": "inventory:read",
    "POST /v1/availability/compact": "inventory:read",
    "POST /v1/reservations": "inventory:reserve",
    "GET /v1/reservations": "inventory:read",
    "GET /v1/reservations/{reservation_id}": "inventory:read",
    "POST /v1/reservations/{reservation_id}/confirm": "inventory:reserve",
    "POST /v1/reservations/{reservation_id}/release": "inventory:reserve",
    "POST /v1/reservations/{reservation_id}/commit": "inventory:reserve",
    "GET /v1/invariants": "admin",
    "GET /v1/audit": "admin",
}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    # Building the container opens no connection; the app is only asked for its document.
    doc: dict[str, Any] = create_app(bootstrap()).openapi()
    return doc


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in doc["paths"].items()
        if path.startswith("/v1/")
        for method, operation in methods.items()
    }


def test_every_operation_needs_its_scope(openapi: dict[str, Any]) -> None:
    found = {
        name: [scope for req in op["security"] for scope in req.get("bearerAuth", [])]
        for name, op in operations(openapi).items()
    }
    assert found == {name: [scope] for name, scope in SCOPES.items()}


def test_every_operation_declares_the_refusals_of_the_token_check(
    openapi: dict[str, Any],
) -> None:
    for name, op in operations(openapi).items():
        assert {"401", "403"} <= set(op["responses"]), name


def _objects_reachable(doc: dict[str, Any], schema: Any, seen: set[str]) -> list[str]:
    """The names (or inline paths) of every object schema a request body can contain."""
    found: list[str] = []
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                target = doc["components"]["schemas"][name]
                if target.get("type") == "object" or "properties" in target:
                    assert target.get("additionalProperties") is False, f"{name} allows extras"
                    found.append(name)
                found += _objects_reachable(doc, target, seen)
            return found
        if "properties" in schema:
            assert schema.get("additionalProperties") is False, f"inline object {schema}"
        for value in schema.values():
            found += _objects_reachable(doc, value, seen)
    elif isinstance(schema, list):
        for value in schema:
            found += _objects_reachable(doc, value, seen)
    return found


def test_every_request_body_object_refuses_undeclared_fields(openapi: dict[str, Any]) -> None:
    checked: set[str] = set()
    for op in operations(openapi).values():
        for media in op.get("requestBody", {}).get("content", {}).values():
            checked |= set(_objects_reachable(openapi, media["schema"], set()))
    # The walk reached the nested models too, not just the top-level bodies.
    assert {"AddressIn", "ReservationLineIn", "LinePickIn", "AdjustmentCreate"} <= checked


ORDER_ID = "0190f0f5-9a1b-7c3d-8e4f-5a6b7c8d9e0f"
LINE = {"sku": "LAMP-001", "quantity": 1}
ADDRESS = {"line1": "Lagerstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
LOCATION = {
    "code": "WH-BER",
    "name": "Berlin",
    "type": "warehouse",
    "address": ADDRESS,
    "capabilities": ["ship"],
}


@pytest.mark.parametrize(
    ("model", "body"),
    [
        # Counters the ledger keeps, sent with an adjustment or a count.
        (
            AdjustmentCreate,
            {"location_code": "WH-BER", "sku": "S", "delta": 1, "reason": "found"}
            | {"reserved_delta": 5},
        ),
        (
            AdjustmentCreate,
            {"location_code": "WH-BER", "sku": "S", "delta": 1, "reason": "found"}
            | {"on_hand_after": 99},
        ),
        (StockLevelUpdate, {"on_hand": 1, "reserved": 0}),
        (SkuPolicyUpdate, {"low_stock_threshold": 1, "sku": "OTHER"}),
        # A reservation's state, times and held units.
        (ReservationCreate, {"order_id": ORDER_ID, "lines": [LINE], "status": "confirmed"}),
        (ReservationCreate, {"order_id": ORDER_ID, "lines": [LINE], "id": ORDER_ID}),
        (ReservationCreate, {"order_id": ORDER_ID, "lines": [LINE | {"held": 1}]}),
        (
            ReservationCreate,
            {"order_id": ORDER_ID, "lines": [LINE | {"expires_at": "2030-01-01T00:00:00Z"}]},
        ),
        (ReleaseRequest, {"lines": [LINE], "reason": "expired"}),
        (ReleaseRequest, {"lines": [LINE | {"released": 1}]}),
        (CommitRequest, {"lines": [LINE | {"committed": 1}]}),
        (CommitRequest, {"shipment_id": "SHP-1", "expires_at": "2030-01-01T00:00:00Z"}),
        # Inbound progress, location versions and nested addresses.
        (
            InboundCreate,
            {"location_code": "WH-BER", "sku": "S", "quantity": 1}
            | {"expected_at": "2030-01-01T00:00:00Z", "received_quantity": 1},
        ),
        (InboundReceive, {"quantity": 1, "status": "received"}),
        (LocationCreate, LOCATION | {"version": 7}),
        (LocationCreate, LOCATION | {"address": ADDRESS | {"verified": True}}),
        (LocationPatch, {"active": False, "created_at": "2020-01-01T00:00:00Z"}),
        (LocationPatch, {"address": ADDRESS | {"extra": 1}}),
        (AvailabilityRequest, {"skus": ["S"], "include_inactive": True}),
    ],
)
def test_an_undeclared_field_is_refused(model: type[BaseModel], body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    assert [e["type"] for e in refused.value.errors()] == ["extra_forbidden"]
