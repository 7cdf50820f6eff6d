"""The pure pieces of order-capture's access rules: the channels WHERE clause, the
self-service proof, and the request models refusing what a client must not set."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement

from libs import self_service
from libs.self_service import NO_ORDER_EMAIL, email_proves_order
from services.order_capture.adapters.queries import visible_to
from services.order_capture.api.schemas import orders as schemas
from services.order_capture.api.schemas.self_service import SelfServiceCancel
from tests.support.orders import order_body


def sql(clause: ColumnElement[bool]) -> str:
    return str(clause.compile(compile_kwargs={"literal_binds": True}))


class TestVisibleTo:
    def test_no_claim_is_not_narrowed(self) -> None:
        assert sql(visible_to(None)) == "true"

    def test_a_claim_keeps_just_its_channels(self) -> None:
        assert sql(visible_to(frozenset({"web", "pos"}))) == (
            "sales_order.channel IN ('pos', 'web')"
        )

    def test_an_empty_claim_sees_nothing(self) -> None:
        # SQLAlchemy renders an empty IN as a predicate that is never true.
        rendered = sql(visible_to(frozenset()))
        assert "sales_order.channel IN" in rendered and "'" not in rendered


class TestSelfServiceProof:
    def test_the_address_on_the_order_proves_it_case_insensitively(self) -> None:
        assert email_proves_order("ada@example.com", " ADA@example.com ")
        assert not email_proves_order("ada@example.com", "eve@example.com")

    def test_no_order_proves_nothing_not_even_the_dummy_address(self) -> None:
        assert not email_proves_order(None, "eve@example.com")
        assert not email_proves_order(None, NO_ORDER_EMAIL)

    def test_an_unknown_order_costs_the_same_comparison(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        compared: list[tuple[str, str]] = []

        def spy(on_order: str, given: str) -> bool:
            compared.append((on_order, given))
            return False

        monkeypatch.setattr(self_service, "email_matches", spy)
        email_proves_order("ada@example.com", "eve@example.com")
        email_proves_order(None, "eve@example.com")
        assert compared == [
            ("ada@example.com", "eve@example.com"),
            (NO_ORDER_EMAIL, "eve@example.com"),
        ]


REQUEST_MODELS: list[type[BaseModel]] = [
    schemas.OrderCreate,
    schemas.CustomerIn,
    schemas.AddressIn,
    schemas.DeliveryIn,
    schemas.PaymentIn,
    schemas.OrderLineCreate,
    schemas.TotalsIn,
    schemas.OrderPatch,
    schemas.ContactPatch,
    schemas.CancelRequest,
    schemas.CancelLine,
    SelfServiceCancel,
]


def nested_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """Every model reachable from `model`'s fields (through lists, unions and optionals)."""
    found: set[type[BaseModel]] = set()

    def visit(annotation: Any) -> None:
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if is_model and annotation not in found:
            found.add(annotation)
            for field in annotation.model_fields.values():
                visit(field.annotation)
        for arg in getattr(annotation, "__args__", ()):
            visit(arg)

    visit(model)
    return found


class TestRequestModels:
    @pytest.mark.parametrize(
        "top",
        [schemas.OrderCreate, schemas.OrderPatch, schemas.CancelRequest, SelfServiceCancel],
    )
    def test_every_request_model_and_nested_model_forbids_extra_fields(
        self, top: type[BaseModel]
    ) -> None:
        for model in nested_models(top):
            assert model.model_config.get("extra") == "forbid", model.__name__
        assert nested_models(top) <= set(REQUEST_MODELS)

    @pytest.mark.parametrize(
        ("path", "value"),
        [
            (("status",), "shipped"),
            (("lines", 0, "reserved"), 2),
            (("payment", "captured"), True),
            (("customer", "id_verified"), True),
            (("shipping_address", "validated"), True),
        ],
    )
    def test_a_field_the_service_computes_is_refused(
        self, path: tuple[str | int, ...], value: Any
    ) -> None:
        body = order_body()
        target: Any = body
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            schemas.OrderCreate.model_validate(body)

    def test_an_order_has_at_most_500_lines(self) -> None:
        lines = [(f"SKU-{n}", 1, "1.00") for n in range(501)]
        with pytest.raises(ValidationError, match="at most 500 items"):
            schemas.OrderCreate.model_validate(order_body(lines))
        assert schemas.OrderCreate.model_validate(order_body(lines[:500]))
