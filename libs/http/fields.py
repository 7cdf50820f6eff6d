"""Field types that several services' APIs share."""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field, StringConstraints


def _known_country(code: str) -> str:
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


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
