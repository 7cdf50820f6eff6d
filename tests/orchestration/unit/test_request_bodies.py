"""Every model a request body is read into, nested ones too, refuses unknown fields: a client
cannot slip in a status, a version or a total that the API does not take."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.orchestration.api.routes import fulfillments, routing, sagas
from services.orchestration.api.schemas.fulfillments import PickBody
from services.orchestration.api.schemas.routing import PromiseRequest, StrategyBody


def body_models() -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation in found:
                return
            found.add(annotation)
            for field in annotation.model_fields.values():
                walk(field.annotation)
        for arg in get_args(annotation):
            walk(arg)

    for router in (sagas.router, routing.router, fulfillments.router):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for param in route.dependant.body_params:
                walk(param.field_info.annotation)
    return found


def test_the_walk_finds_the_nested_models() -> None:
    names = {m.__name__ for m in body_models()}
    assert {"StrategyBody", "WeightsBody", "PromiseRequest", "PromiseLine"} <= names
    assert {"PromiseDestination", "RejectBody", "PickBody", "PickedLine", "ShipBody"} <= names


def _name(model: type[BaseModel]) -> str:
    return model.__name__


MODELS: list[type[BaseModel]] = sorted(body_models(), key=_name)


@pytest.mark.parametrize("model", MODELS, ids=_name)
def test_every_request_body_model_forbids_extra_fields(model: type[BaseModel]) -> None:
    assert model.model_config.get("extra") == "forbid"


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (StrategyBody, {"weights": {"distance": 1.0, "boost": 9.0}}),
        (StrategyBody, {"version": 99}),
        (PromiseRequest, {"lines": [{"sku": "LAMP-001", "quantity": 1, "price": "0"}],
                          "ship_to": {"country": "DE"}}),
        (PickBody, {"lines": [{"line_id": "L1", "quantity": 1, "status": "shipped"}]}),
    ],
)  # fmt: skip
def test_an_unknown_field_is_refused(model: type[BaseModel], body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        model.model_validate(body)
