"""The pieces of returns' access control that need no database: the WHERE clauses that
narrow by the caller's channels, the refusal of an unallowed location, and request bodies
that refuse fields they do not declare."""

from __future__ import annotations

import types
import typing
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.sql import ClauseElement

from libs.errors import Forbidden
from services.returns.adapters.queries import channel_visible, order_visible
from services.returns.adapters.tables import known_order, return_request
from services.returns.api.routes import ROUTERS
from services.returns.domain.errors import LocationNotAllowed


def sql(clause: ClauseElement) -> str:
    return str(clause.compile(compile_kwargs={"literal_binds": True}))


class TestChannelClauses:
    def test_a_caller_without_a_channels_claim_is_not_narrowed(self) -> None:
        assert sql(channel_visible(None)) == "true"
        assert sql(order_visible(return_request.c.order_id, None)) == "true"

    def test_a_channels_claim_keeps_the_orders_of_those_channels(self) -> None:
        assert sql(channel_visible(frozenset({"web", "app"}))) == (
            "known_order.channel IN ('app', 'web')"
        )

    def test_anything_that_names_its_order_is_kept_when_the_order_is_of_a_channel(
        self,
    ) -> None:
        clause = sql(order_visible(return_request.c.order_id, frozenset({"web"})))

        assert clause == (
            "return_request.order_id IN (SELECT known_order.order_id \nFROM known_order \n"
            "WHERE known_order.channel IN ('web'))"
        )

    def test_an_empty_claim_keeps_nothing(self) -> None:
        query = select(known_order.c.order_id).where(channel_visible(frozenset()))

        assert "1 != 1" in sql(query)

    def test_the_order_clause_is_never_correlated_with_a_query_of_the_orders(self) -> None:
        query = select(known_order.c.order_id).where(
            order_visible(known_order.c.order_id, frozenset({"web"}))
        )

        assert sql(query).count("FROM known_order") == 2


class TestLocationRefusal:
    def test_an_unallowed_location_is_a_403_with_its_own_code(self) -> None:
        refused = LocationNotAllowed("this token may not receive at WH-BER")

        assert isinstance(refused, Forbidden)
        assert refused.code == "location_not_allowed"


def _models(annotation: Any) -> set[type[BaseModel]]:
    """Every Pydantic model an annotation names, through lists, unions and dicts."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found = {annotation}
        for field in annotation.model_fields.values():
            found |= _models(field.annotation)
        return found
    found = set()
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) or typing.get_args(
        annotation
    ):
        for arg in typing.get_args(annotation):
            found |= _models(arg)
    return found


def test_every_request_body_model_refuses_fields_it_does_not_declare() -> None:
    bodies: set[type[BaseModel]] = set()
    for route in [route for router in ROUTERS for route in router.routes]:
        assert isinstance(route, APIRoute)
        for param in route.dependant.body_params:
            bodies |= _models(param.field_info.annotation)

    assert {m.__name__ for m in bodies} >= {
        "PolicyBody",
        "ReturnCreate",
        "SelfServiceReturnCreate",
        "ReturnLineIn",
        "ResolutionIn",
        "RejectBody",
        "ReceiveBody",
        "ReceivedLineIn",
    }
    lax = sorted(m.__name__ for m in bodies if m.model_config.get("extra") != "forbid")
    assert lax == []
