"""The one address every API speaks (libs.http.address)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from libs.http.address import Address, AddressRead

BERLIN: dict[str, Any] = {
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
    "latitude": 52.517,
    "longitude": 13.3889,
}


def test_an_address_is_read_and_rendered_with_the_same_names() -> None:
    sent = Address.model_validate(BERLIN | {"city": "  Berlin "})

    assert sent.city == "Berlin"
    assert AddressRead(**sent.model_dump()).model_dump() == sent.model_dump()
    assert list(Address.model_fields) == list(AddressRead.model_fields)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latitude": 90.5}, "latitude"),
        ({"longitude": -180.5}, "longitude"),
        ({"latitude": "52.5"}, "latitude"),  # a number, not a string of one
        ({"country": "XX"}, "country"),
        ({"city": " "}, "city"),
        ({"lat": 52.5}, "lat"),  # the one shape: no other names for the point
    ],
)
def test_what_an_address_refuses(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Address.model_validate(BERLIN | change)

    assert [e["loc"] for e in refused.value.errors()] == [(field,)]


def test_the_point_is_optional() -> None:
    bare = {k: v for k, v in BERLIN.items() if k not in ("latitude", "longitude")}

    assert Address.model_validate(bare).latitude is None
