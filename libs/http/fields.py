"""Field types that several services' APIs share."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema


def _known_country(code: str) -> str:
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _trimmed(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise ValueError("must not be blank")
    return stripped


# Surrounding whitespace is dropped AFTER the length limits are checked, so the limits hold on
# what the client sent, exactly as the JSON Schema says (stripping first would accept text one
# character over maxLength when it starts with a space). Blank text is refused.
Trimmed = AfterValidator(_trimmed)

Country = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_known_country),
    Field(description="ISO 3166-1 alpha-2", examples=["DE"]),
]

Sku = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-/]+$"),
    Field(examples=["LAMP-001"]),
]


_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def _rfc3339_text(value: object) -> object:
    # Pydantic's lax mode reads a number, or a string of one, as Unix seconds; the contract
    # says RFC 3339 text, so a client sending 1732406400 or "0.5" hears that, not a 1970 date.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected an RFC 3339 date or date-time string, not a number")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339_text)]
Day = Annotated[date, BeforeValidator(_rfc3339_text)]


_LOCAL_TIME = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$"


def _no_offset(value: object) -> object:
    # A wall-clock time at a place (a cut-off) has no UTC offset: the place's time zone gives
    # it one. Pydantic would take "15:00Z" and then lose the Z in the database.
    if isinstance(value, str) and not re.fullmatch(_LOCAL_TIME, value):
        raise ValueError("expected a local time HH:MM[:SS[.ffffff]] without an offset")
    return value


LocalTime = Annotated[
    time,
    BeforeValidator(_no_offset),
    # JSON Schema's format "time" requires an offset; this one has none, so it says so.
    WithJsonSchema({"type": "string", "pattern": _LOCAL_TIME, "examples": ["15:00:00"]}),
]
