"""The built-in address check: the form of a ship-to address (what is there, and the postal
code in its country's format), each problem in words for the review hold's detail."""

from __future__ import annotations

import pytest

from services.orchestration.adapters.address_check import FormatAddressCheck, address_problems
from services.orchestration.domain.order import ShipTo


def address(country: str, postal_code: str) -> ShipTo:
    return ShipTo(country, line1="Main St 1", city="Springfield", postal_code=postal_code)


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [
        ("US", "94105"),
        ("US", "94105-1234"),
        ("DE", "10117"),
        ("FR", "75008"),
        ("ES", "28013"),
        ("IT", "00184"),
        ("NL", "1012 AB"),
        ("NL", "1012AB"),
        ("NL", "1012 ab"),
        ("GB", "SW1A 1AA"),
        ("GB", "M1 1AE"),
        ("GB", "EC1A1BB"),
        ("GB", "b33 8th"),
        ("CA", "K1A 0B1"),
        ("CA", "K1A0B1"),
        ("AT", "1010"),
        ("BE", "1000"),
        ("CH", "8001"),
        ("DK", "1050"),
        ("SE", "114 55"),
        ("SE", "11455"),
        ("PL", "00-950"),
        ("JP", "100-0001"),  # another country's: only needs to be there
        ("BR", "x"),
    ],
)
def test_a_well_formed_address_has_no_problems(country: str, postal_code: str) -> None:
    assert address_problems(address(country, postal_code)) == []


@pytest.mark.parametrize(
    ("country", "postal_code"),
    [
        ("US", "9410"),
        ("US", "94105-12"),
        ("US", "941051234"),
        ("DE", "ABC"),
        ("DE", "1011"),
        ("DE", "101170"),
        ("FR", "7500A"),
        ("NL", "1012"),
        ("NL", "1012 ABC"),
        ("GB", "SW1A"),
        ("GB", "12345"),
        ("CA", "K1A 0B"),
        ("CA", "123 456"),
        ("AT", "10100"),
        ("CH", "800"),
        ("SE", "1145"),
        ("PL", "00950"),
        ("PL", "00-95"),
    ],
)
def test_a_postal_code_not_in_its_country_s_format_is_named(country: str, postal_code: str) -> None:
    assert address_problems(address(country, postal_code)) == [
        f"postal code '{postal_code}' is not a {country} postal code"
    ]


def test_each_missing_part_is_named() -> None:
    empty = ShipTo("DE", line1=" ", city="", postal_code="")

    assert address_problems(empty) == ["line 1 missing", "city missing", "postal code missing"]


@pytest.mark.parametrize("country", ["", "DEU", "Germany", "D1"])
def test_a_country_that_is_not_a_two_letter_code_is_named(country: str) -> None:
    assert address_problems(address(country, "10117")) == [
        f"country {country!r} is not a 2-letter code"
    ]


def test_a_lower_case_country_code_is_read_as_its_upper_case() -> None:
    assert address_problems(address("de", "10117")) == []
    assert address_problems(address("de", "ABC")) == ["postal code 'ABC' is not a DE postal code"]


async def test_the_port_answers_what_the_format_check_finds() -> None:
    check = FormatAddressCheck()

    assert await check.problems(address("DE", "ABC")) == [
        "postal code 'ABC' is not a DE postal code"
    ]
    assert await check.problems(address("DE", "10117")) == []
