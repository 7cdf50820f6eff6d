"""Field types and the strict base every request model of the order-capture API shares.

Request models refuse unknown fields, so a client can never set status, totals, buckets or
anything else the service computes; it gets a 422 naming the field instead.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from libs.http.fields import Trimmed


def _known_currency(code: str) -> str:
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100), Trimmed]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200), Trimmed]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-/]+$")]
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=4, examples=["19.99"]),
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_known_currency),
    Field(description="ISO 4217", examples=["EUR"]),
]
Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    Field(examples=["ada@example.com"]),
]
Phone = Annotated[
    str,
    StringConstraints(pattern=r"^\+?[0-9 ()\-.]{5,30}$"),
    Field(examples=["+49 30 1234567"]),
]
LocationCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")
]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500),
    Trimmed,
    Field(examples=["customer changed their mind"]),
]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[^\s].*$")]
PaymentMethod = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
]
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40)]
MetadataValue = Annotated[str, StringConstraints(max_length=500)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
