"""Locations: the places that hold stock and what each can do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from libs.errors import PreconditionFailed


class LocationType(StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"
    DROPSHIP = "dropship"
    THIRD_PARTY = "3pl"


class Capability(StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"
    SHIP_FROM_STORE = "ship_from_store"


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass
class Location:
    code: str
    name: str
    type: LocationType
    address: Address
    capabilities: frozenset[Capability]
    created_at: datetime
    updated_at: datetime
    priority: int = 0
    daily_order_capacity: int | None = None
    processing_days: int = 0
    cutoff_time: time | None = None
    timezone: str = "UTC"
    active: bool = True
    version: int = 1

    @property
    def ships(self) -> bool:
        """Whether a delivery order may be served from here."""
        return bool(self.capabilities & {Capability.SHIP, Capability.SHIP_FROM_STORE})

    def update(self, changes: dict[str, Any], *, expected_version: int, now: datetime) -> list[str]:
        """Apply the fields that differ and name them (none: nothing changed); a stale
        version is refused (optimistic lock)."""
        if expected_version != self.version:
            raise PreconditionFailed(
                f"location {self.code} is at version {self.version}, not {expected_version}"
            )
        differing = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if not differing:
            return []
        for name, value in differing.items():
            setattr(self, name, value)
        self.version += 1
        self.updated_at = now
        return sorted(differing)
