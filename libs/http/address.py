"""The one postal address and the one point on Earth every OMS API speaks.

Names as schema.org's PostalAddress and GeoCoordinates have them (and most commerce APIs),
in snake_case: `line1`, `line2`, `city`, `region`, `postal_code`, `country` (ISO 3166-1
alpha-2), and `latitude`/`longitude` in WGS 84 degrees, never `lat`/`lon`. A service adds what
is its own (order-capture the recipient's `name`) by subclassing, never by renaming.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from libs.http.fields import Country, Trimmed

Latitude = Annotated[
    float,
    Field(
        strict=True,
        ge=-90,
        le=90,
        description="WGS 84 degrees north of the equator (south is negative)",
        examples=[52.52],
    ),
]
Longitude = Annotated[
    float,
    Field(
        strict=True,
        ge=-180,
        le=180,
        description="WGS 84 degrees east of Greenwich (west is negative)",
        examples=[13.405],
    ),
]
AddressText = Annotated[str, StringConstraints(min_length=1, max_length=200), Trimmed]
PostalCode = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class Address(BaseModel):
    """A postal address and, when known, where it is (routing uses the point when both
    latitude and longitude are given). The same shape in every OMS API."""

    model_config = ConfigDict(extra="forbid")

    line1: AddressText
    line2: AddressText | None = None
    city: AddressText
    region: AddressText | None = None
    postal_code: PostalCode
    country: Country
    latitude: Latitude | None = None
    longitude: Longitude | None = None


# The same shape for responses rendered from what was stored: validated on the way in, so not
# checked again on every read (an order read is a hot path).
class AddressRead(BaseModel):
    """A postal address and, when known, where it is. The same shape in every OMS API."""

    line1: str
    line2: str | None = None
    city: str
    region: str | None = None
    postal_code: str
    country: str
    latitude: float | None = None
    longitude: float | None = None
