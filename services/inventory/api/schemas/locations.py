"""Location request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from libs.http.address import Address
from libs.http.fields import LocalTime, Trimmed
from libs.http.pagination import Page
from services.inventory.domain.locations import Address as DomainAddress
from services.inventory.domain.locations import Capability, Location, LocationType

Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-/]+$"),
    Field(examples=["WH-BER"]),
]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200), Trimmed]


# zoneinfo walks the whole tz database on disk on every call: read once. (Every location a
# response holds was checked this way; it was 70 % of inventory's time under load.)
KNOWN_TIMEZONES = frozenset(available_timezones())


def _known_timezone(name: str) -> str:
    if name not in KNOWN_TIMEZONES:
        raise ValueError(f"{name!r} is not an IANA time zone")
    return name


TimeZone = Annotated[str, AfterValidator(_known_timezone), Field(examples=["Europe/Berlin"])]

LOCATION_EXAMPLE: dict[str, Any] = {
    "code": "WH-BER",
    "name": "Berlin warehouse",
    "type": "warehouse",
    "address": {
        "line1": "Lagerstraße 1",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
        "latitude": 52.52,
        "longitude": 13.405,
    },
    "capabilities": ["ship"],
    "priority": 10,
    "daily_order_capacity": 5000,
    "processing_days": 1,
    "cutoff_time": "15:00:00",
    "timezone": "Europe/Berlin",
    "active": True,
}


# The address every OMS API speaks (libs.http.address); a location adds nothing to it.
class AddressIn(Address):
    def to_domain(self) -> DomainAddress:
        return DomainAddress(**self.model_dump())


class LocationFields(BaseModel):
    """What may be set on a location, at creation or by PATCH."""

    model_config = ConfigDict(extra="forbid")

    name: Text200
    type: LocationType
    address: AddressIn
    capabilities: list[Capability] = Field(min_length=1, max_length=3)
    priority: int = Field(
        0, strict=True, ge=0, le=1000, description="Higher is preferred by routing"
    )
    daily_order_capacity: int | None = Field(None, strict=True, ge=0, le=10_000_000)
    processing_days: int = Field(
        0, strict=True, ge=0, le=30, description="Days from order to dispatch"
    )
    cutoff_time: LocalTime | None = Field(
        None, description="Orders after this local time count from the next day"
    )
    timezone: TimeZone = "UTC"
    active: bool = Field(True, strict=True)


class LocationCreate(LocationFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [LOCATION_EXAMPLE]})

    code: Code

    def to_domain(self, now: datetime) -> Location:
        return Location(
            code=self.code,
            name=self.name,
            type=self.type,
            address=self.address.to_domain(),
            capabilities=frozenset(self.capabilities),
            priority=self.priority,
            daily_order_capacity=self.daily_order_capacity,
            processing_days=self.processing_days,
            cutoff_time=self.cutoff_time,
            timezone=self.timezone,
            active=self.active,
            created_at=now,
            updated_at=now,
        )


_REQUIRED = frozenset(
    {"name", "type", "address", "capabilities", "priority", "processing_days", "timezone", "active"}
)


class LocationPatch(BaseModel):
    """Only the fields sent change; `null` clears an optional field (capacity, cut-off)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"active": False, "priority": 5}]}
    )

    name: Text200 | None = None
    type: LocationType | None = None
    address: AddressIn | None = None
    capabilities: list[Capability] | None = Field(None, min_length=1, max_length=3)
    priority: int | None = Field(None, strict=True, ge=0, le=1000)
    daily_order_capacity: int | None = Field(None, strict=True, ge=0, le=10_000_000)
    processing_days: int | None = Field(None, strict=True, ge=0, le=30)
    cutoff_time: LocalTime | None = None
    timezone: TimeZone | None = None
    active: bool | None = Field(None, strict=True)

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> LocationPatch:
        cleared = sorted(n for n in self.model_fields_set & _REQUIRED if getattr(self, n) is None)
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be cleared (null)")
        return self

    def changes(self) -> dict[str, Any]:
        """Domain values of the fields the client sent."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump(exclude_unset=True).items():
            if name == "address":
                value = self.address.to_domain() if self.address else None
            elif name == "capabilities":
                value = frozenset(Capability(c) for c in value)
            elif name == "type":
                value = LocationType(value)
            out[name] = value
        return out


class LocationRead(LocationFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                LOCATION_EXAMPLE
                | {
                    "version": 1,
                    "created_at": "2026-11-22T10:15:00Z",
                    "updated_at": "2026-11-22T10:15:00Z",
                }
            ]
        }
    )

    code: str
    version: int
    created_at: datetime
    updated_at: datetime


LocationPage = Page[LocationRead]
