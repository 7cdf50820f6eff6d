"""Carrier services, what they charge, and which one a shipment goes with.

The rate table is data (stored, edited and served over HTTP), so it round-trips through plain
JSON; prices stay Decimals and travel as strings so no cent is lost to floating point.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from math import floor, inf
from typing import Any

from services.orchestration.domain.routing.model import Quote

# A price needs a distance; when either end has no coordinates we price a typical domestic
# parcel run instead of refusing to quote (the routing engine then scores the location
# neutrally on distance, so this guess never decides alone).
ASSUMED_DISTANCE_KM = 300.0

# Levels listed first, in this order, wherever levels are offered (cheapest promise first).
LEVEL_ORDER = ("standard", "express")

_CENT = Decimal("0.01")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class CarrierService:
    carrier: str
    service: str
    level: str  # standard | express | ...
    base_price: Decimal
    per_100km: Decimal
    international_surcharge: Decimal
    transit_days: int  # business days, domestic
    international_transit_days: int

    def __post_init__(self) -> None:
        if not self.carrier or not self.service or not self.level:
            raise ValueError("a carrier service needs a carrier, a service and a level")
        for name in ("base_price", "per_100km", "international_surcharge"):
            amount: Decimal = getattr(self, name)
            if not amount.is_finite() or amount < 0:
                raise ValueError(f"{self.carrier} {self.service}: {name} must be 0 or more")
        if self.transit_days < 0 or self.international_transit_days < 0:
            raise ValueError(f"{self.carrier} {self.service}: transit days must be 0 or more")

    def transit(self, *, domestic: bool) -> int:
        return self.transit_days if domestic else self.international_transit_days


@dataclass(frozen=True)
class RateTable:
    currency: str
    services: tuple[CarrierService, ...]

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.currency):
            raise ValueError(f"currency must be an ISO 4217 code, not {self.currency!r}")
        names = [(s.carrier, s.service) for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError("each carrier service may appear only once in a rate table")

    def quote(self, service: CarrierService, *, distance_km: float | None, domestic: bool) -> Quote:
        return Quote(
            carrier=service.carrier,
            service=service.service,
            level=service.level,
            price=_price(service, _km(distance_km), domestic),
            currency=self.currency,
            transit_days=service.transit(domestic=domestic),
        )

    def quotes(
        self, *, distance_km: float | None, domestic: bool, level: str | None
    ) -> list[Quote]:
        """Every service of the level (any level when None), cheapest first."""
        quotes = [
            self.quote(s, distance_km=distance_km, domestic=domestic)
            for s in self.services
            if level is None or s.level == level
        ]
        return sorted(quotes, key=lambda q: (q.price, q.transit_days, q.carrier, q.service))

    def cheapest(
        self, *, distance_km: float | None, domestic: bool, level: str | None
    ) -> Quote | None:
        """The first of `quotes()`, priced exactly only where it can matter (see
        `_near_cheapest`)."""
        near = self._near_cheapest(_km(distance_km), domestic, level)
        if not near:
            return None
        quotes = [self.quote(s, distance_km=distance_km, domestic=domestic) for s in near]
        return min(quotes, key=lambda q: (q.price, q.transit_days, q.carrier, q.service))

    def cheapest_cents(
        self, *, distance_km: float | None, domestic: bool, level: str | None
    ) -> int | None:
        """The price of `cheapest()`'s quote in cents, without making the quote."""
        return self.cents_for(level)(distance_km, domestic)

    def cents_for(self, level: str | None) -> Callable[[float | None, bool], int | None]:
        """`cheapest_cents` at one level, as a function of (distance, domestic): routing asks
        it for every candidate location of every order, where Decimal arithmetic was most
        of the scoring's cost (see _cents), and then the keyword call and the generator
        over the level's services were (165 µs for 100 candidates; a plain loop over the
        services' figures for the side of the border, fixed once per order: 70 µs)."""
        rated = self._float_rates.get(level, ())
        if not rated:
            return _no_price
        home = tuple((base, per_100km) for _, base, per_100km, _ in rated)
        abroad = tuple((base + surcharge, per_100km) for _, base, per_100km, surcharge in rated)

        def cents(distance_km: float | None, domestic: bool) -> int | None:
            km = _km(distance_km)
            # Rounding half up never reorders prices, so the lowest price in cents is the
            # lowest float price rounded; the float is exact enough unless it is all but a
            # half cent.
            lowest = inf
            for base, per_100km in home if domestic else abroad:
                price = (base + per_100km * km / 100) * 100
                if price < lowest:
                    lowest = price
            whole = floor(lowest)
            fraction = lowest - whole
            if abs(fraction - 0.5) < _HALF_CENT_DOUBT:
                return min(int(_price(r[0], km, domestic) * 100) for r in rated)
            return whole + 1 if fraction > 0.5 else whole

        return cents

    def _near_cheapest(
        self, km: float, domestic: bool, level: str | None, per_day: float = 0.0
    ) -> list[CarrierService]:
        """The level's services that may be the cheapest at this distance (counting
        `per_day` for each day in transit, as select_service does). A Decimal price of every
        service for every candidate was most of the routing's work; a float estimate is
        within half a cent of the exact price, so a service estimated more than two cents
        above the cheapest estimate cannot be the cheapest."""
        rated = self._float_rates.get(level, ())
        if len(rated) == 1:
            return [rated[0][0]]
        estimates = [
            (
                base
                + per_100km * km / 100
                + (0.0 if domestic else surcharge)
                + per_day * service.transit(domestic=domestic),
                service,
            )
            for service, base, per_100km, surcharge in rated
        ]
        low = min((estimate for estimate, _ in estimates), default=0.0)
        return [service for estimate, service in estimates if estimate <= low + 0.02]

    def near_best(
        self, *, distance_km: float | None, domestic: bool, level: str | None, per_day: float
    ) -> list[CarrierService]:
        """The level's services that may have the lowest price + per_day x transit days:
        the only ones select_service needs to quote exactly."""
        return self._near_cheapest(_km(distance_km), domestic, level, per_day)

    @cached_property
    def _float_rates(
        self,
    ) -> dict[str | None, tuple[tuple[CarrierService, float, float, float], ...]]:
        """Per level (None: any level), each service with its rates as floats; made once
        per table (a table is immutable), not hashed and looked up for every candidate."""
        rated = [
            (s, float(s.base_price), float(s.per_100km), float(s.international_surcharge))
            for s in self.services
        ]
        by_level: dict[str | None, tuple[tuple[CarrierService, float, float, float], ...]] = {
            None: tuple(rated)
        }
        for level in {s.level for s in self.services}:
            by_level[level] = tuple(r for r in rated if r[0].level == level)
        return by_level

    def levels(self) -> tuple[str, ...]:
        """The distinct service levels offered: standard, express, then the rest by name."""
        offered = {s.level for s in self.services}
        known = [level for level in LEVEL_ORDER if level in offered]
        return (*known, *sorted(offered - set(LEVEL_ORDER)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "services": [
                {
                    "carrier": s.carrier,
                    "service": s.service,
                    "level": s.level,
                    "base_price": str(s.base_price),
                    "per_100km": str(s.per_100km),
                    "international_surcharge": str(s.international_surcharge),
                    "transit_days": s.transit_days,
                    "international_transit_days": s.international_transit_days,
                }
                for s in self.services
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RateTable:
        """The table from its JSON form; ValueError says what is wrong with bad input."""
        services = data.get("services")
        if not isinstance(services, list):
            raise ValueError("services must be a list")
        return cls(
            currency=_text(data, "currency"),
            services=tuple(_service_from_dict(entry) for entry in services),
        )


def _km(distance_km: float | None) -> float:
    return ASSUMED_DISTANCE_KM if distance_km is None else max(0.0, distance_km)


def _price(service: CarrierService, km: float, domestic: bool) -> Decimal:
    # str() first: the float's shortest repr, not its exact binary expansion.
    price = service.base_price + service.per_100km * Decimal(str(km)) / 100
    if not domestic:
        price += service.international_surcharge
    return price.quantize(_CENT, rounding=ROUND_HALF_UP)


# How close to a half cent a float price may come before it is priced in Decimal instead: a
# float sum of these few terms is within a billionth of a cent of the exact Decimal one for
# any price a parcel has, so only a price this close to a half cent could round otherwise.
_HALF_CENT_DOUBT = 1e-6


def _no_price(distance_km: float | None, domestic: bool) -> int | None:
    return None


def select_service(
    table: RateTable,
    *,
    distance_km: float | None,
    domestic: bool,
    level: str | None,
    speed_weight: Decimal = Decimal("2.00"),
) -> Quote | None:
    """The service a shipment goes with: the lowest price + speed_weight x transit days among
    the level's services (any level when None), so a slightly dearer but faster service can
    win. Ties go to the carrier, then the service, by name, so a retry chooses the same.

    Only the services that can come out lowest (RateTable.near_best, a float estimate) are
    priced exactly: routing asks this of every candidate of an order with a requested
    delivery date."""
    near = table.near_best(
        distance_km=distance_km, domestic=domestic, level=level, per_day=float(speed_weight)
    )
    if not near:
        return None
    quotes = [table.quote(s, distance_km=distance_km, domestic=domestic) for s in near]
    return min(
        quotes, key=lambda q: (q.price + speed_weight * q.transit_days, q.carrier, q.service)
    )


def tracking_number(carrier: str, seed: str) -> str:
    """A tracking number in the carrier's usual shape, derived from the seed (e.g. the
    fulfilment order id) so a retried ship action gets the same number, not a second one."""
    digest = hashlib.sha256(f"{carrier.lower()}|{seed}".encode()).digest()
    number = int.from_bytes(digest, "big")
    name = carrier.lower()
    if name == "dhl":
        return f"{number % 10**20:020d}"
    if name == "ups":
        return "1Z" + _base36(number, 16)
    return f"{number % 10**14:014d}"


def _base36(number: int, width: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 36)
        chars.append(alphabet[digit])
    return "".join(reversed(chars))


def _service_from_dict(entry: Any) -> CarrierService:
    if not isinstance(entry, Mapping):
        raise ValueError("each service must be an object")
    return CarrierService(
        carrier=_text(entry, "carrier"),
        service=_text(entry, "service"),
        level=_text(entry, "level"),
        base_price=_amount(entry, "base_price"),
        per_100km=_amount(entry, "per_100km"),
        international_surcharge=_amount(entry, "international_surcharge"),
        transit_days=_days(entry, "transit_days"),
        international_transit_days=_days(entry, "international_transit_days"),
    )


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _amount(data: Mapping[str, Any], key: str) -> Decimal:
    value = data.get(key)
    # Floats are refused: "4.99" must not arrive as 4.9900000000000002131628...
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key} must be a decimal string")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{key} must be a decimal string, not {value!r}") from None


def _days(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be a whole number of days")
    return value


DEFAULT_RATE_TABLE = RateTable(
    currency="EUR",
    services=(
        CarrierService(
            "dhl", "paket", "standard", Decimal("4.99"), Decimal("0.20"), Decimal("9.00"), 2, 5
        ),
        CarrierService(
            "dhl", "express", "express", Decimal("14.90"), Decimal("0.60"), Decimal("18.00"), 1, 2
        ),
        CarrierService(
            "dpd", "classic", "standard", Decimal("4.60"), Decimal("0.25"), Decimal("8.50"), 2, 4
        ),
        CarrierService(
            "ups", "standard", "standard", Decimal("5.40"), Decimal("0.18"), Decimal("7.50"), 3, 5
        ),
        CarrierService(
            "ups",
            "express_saver",
            "express",
            Decimal("13.50"),
            Decimal("0.70"),
            Decimal("16.00"),
            1,
            2,
        ),
    ),
)
