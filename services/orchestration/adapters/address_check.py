"""A built-in address check: deterministic, no network. It checks the form of a ship-to
address, not that it exists: line 1, city and postal code present, a 2-letter country code,
and the postal code in its country's format for the countries below (any other country's
needs only to be there)."""

from __future__ import annotations

import re

from services.orchestration.domain.order import ShipTo

_FOUR_DIGITS = r"\d{4}"
_FIVE_DIGITS = r"\d{5}"
# Matched against the postal code trimmed and upper-cased ("sw1a 1aa" is written in lower case
# as often as not).
POSTAL_CODE_FORMATS: dict[str, re.Pattern[str]] = {
    country: re.compile(pattern)
    for country, pattern in {
        "US": r"\d{5}(-\d{4})?",  # ZIP or ZIP+4
        "DE": _FIVE_DIGITS,
        "FR": _FIVE_DIGITS,
        "ES": _FIVE_DIGITS,
        "IT": _FIVE_DIGITS,
        "NL": r"\d{4} ?[A-Z]{2}",
        "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",  # outward code, inward code
        "CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
        "AT": _FOUR_DIGITS,
        "BE": _FOUR_DIGITS,
        "CH": _FOUR_DIGITS,
        "DK": _FOUR_DIGITS,
        "SE": r"\d{3} ?\d{2}",
        "PL": r"\d{2}-\d{3}",
    }.items()
}
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


class FormatAddressCheck:
    async def problems(self, address: ShipTo) -> list[str]:
        return address_problems(address)


def address_problems(address: ShipTo) -> list[str]:
    """What is wrong with the address's form, one phrase a problem; empty when it is fine."""
    found = [
        f"{what} missing"
        for what, value in (("line 1", address.line1), ("city", address.city))
        if not value.strip()
    ]
    country = address.country.strip().upper()
    postal_code = address.postal_code.strip().upper()
    if not postal_code:
        found.append("postal code missing")
    if not _COUNTRY_CODE.fullmatch(country):
        found.append(f"country {address.country!r} is not a 2-letter code")
        return found
    pattern = POSTAL_CODE_FORMATS.get(country)
    if postal_code and pattern is not None and not pattern.fullmatch(postal_code):
        found.append(f"postal code {address.postal_code.strip()!r} is not a {country} postal code")
    return found
