"""Value objects of an order: who bought, where it goes, how it is delivered and paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    WEB = "web"
    MOBILE_APP = "mobile_app"
    POS = "pos"
    MARKETPLACE = "marketplace"
    B2B_PORTAL = "b2b_portal"
    PHONE = "phone"
    OTHER = "other"


class DeliveryMethod(StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"


class Priority(StrEnum):
    """How urgently an order is served: a high one is first in line for incoming stock."""

    NORMAL = "normal"
    HIGH = "high"


class ServiceLevel(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"
    SAME_DAY = "same_day"


@dataclass(frozen=True)
class Customer:
    email: str
    name: str
    id: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, as dataclasses.asdict gives them, written out: asdict took
        8.8 µs an address (a deep copy of each field), and every order write has two."""
        return {
            "name": self.name,
            "line1": self.line1,
            "city": self.city,
            "postal_code": self.postal_code,
            "country": self.country,
            "line2": self.line2,
            "region": self.region,
            "lat": self.lat,
            "lon": self.lon,
        }


@dataclass(frozen=True)
class Delivery:
    method: DeliveryMethod
    service_level: ServiceLevel
    pickup_location_code: str | None = None


@dataclass(frozen=True)
class Payment:
    """How the channel took payment. The token is kept for orchestration, never shown again."""

    method: str
    amount: Decimal
    token: str | None = None
    authorization_ref: str | None = None


@dataclass(frozen=True)
class ContactChange:
    """A customer contact edit: None leaves a field as it is."""

    email: str | None = None
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class OrderChanges:
    """What a PATCH may change before anything ships; None leaves a part as it is."""

    shipping_address: Address | None = None
    delivery: Delivery | None = None
    contact: ContactChange | None = None
    notes: str | None = None


@dataclass
class Shipment:
    """A parcel that left a location, as orchestration reported it; the customer tracks it."""

    shipment_id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime
    tracking_url: str | None = None
    delivered_at: datetime | None = None
