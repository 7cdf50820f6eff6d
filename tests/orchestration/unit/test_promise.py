"""Delivery promises: dispatch days, business-day transit, and one option per service level."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.orchestration.domain.carriers import (
    DEFAULT_RATE_TABLE,
    CarrierService,
    RateTable,
    select_service,
)
from services.orchestration.domain.promise import PromisedPart, promise
from services.orchestration.domain.routing.arrival import delivery_date, ship_date
from services.orchestration.domain.routing.engine import route
from services.orchestration.domain.routing.geo import great_circle_km
from services.orchestration.domain.routing.model import (
    Demand,
    GeoPoint,
    Method,
    NoRoutePolicy,
    RoutingRequest,
    Site,
    Strategy,
    Weights,
)

BERLIN_TZ = ZoneInfo("Europe/Berlin")
BERLIN = GeoPoint(52.5200, 13.4050)
HAMBURG = GeoPoint(53.5511, 9.9937)
MUNICH = GeoPoint(48.1372, 11.5756)
LINES = (Demand("L1", "LAMP", 1), Demand("L2", "MUG", 2), Demand("L3", "RUG", 1))
STRATEGY = Strategy(version=3)

MONDAY = date(2024, 5, 6)


def site(code: str = "WH", point: GeoPoint | None = BERLIN, **changes: object) -> Site:
    base = Site(
        code=code,
        type="warehouse",
        active=True,
        capabilities=frozenset({"ship"}),
        country="DE",
        point=point,
        cutoff=time(14, 0),
        timezone="Europe/Berlin",
        available={"LAMP": 5, "MUG": 5, "RUG": 5},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=BERLIN_TZ)


class TestShipDate:
    @pytest.mark.parametrize(
        ("now", "changes", "expected"),
        [
            (berlin(6, 10), {}, date(2024, 5, 6)),
            (berlin(6, 13, 59), {}, date(2024, 5, 6)),
            (berlin(6, 14), {}, date(2024, 5, 7)),
            (berlin(6, 18), {}, date(2024, 5, 7)),
            (berlin(6, 23), {"cutoff": None}, date(2024, 5, 6)),
            (berlin(10, 15), {}, date(2024, 5, 13)),
            (berlin(11, 9), {}, date(2024, 5, 13)),
            (berlin(12, 20), {}, date(2024, 5, 13)),
            (berlin(9, 10), {"processing_days": 2}, date(2024, 5, 13)),
            (berlin(9, 15), {"processing_days": 1}, date(2024, 5, 13)),
            (berlin(6, 10), {"processing_days": 5}, date(2024, 5, 13)),
        ],
        ids=[
            "before_cutoff_today",
            "a_minute_before_cutoff",
            "at_cutoff_tomorrow",
            "after_cutoff_tomorrow",
            "no_cutoff_today",
            "friday_after_cutoff_monday",
            "saturday_monday",
            "sunday_monday",
            "thursday_plus_two_processing_days",
            "thursday_after_cutoff_plus_one",
            "a_week_of_processing",
        ],
    )
    def test_dispatch_day(self, now: datetime, changes: dict[str, object], expected: date) -> None:
        assert ship_date(replace(site(), **changes), now) == expected  # type: ignore[arg-type]

    def test_in_the_sites_time_zone(self) -> None:
        # 22:30 UTC on Monday is already Tuesday 00:30 in Berlin.
        late_monday_utc = datetime(2024, 5, 6, 22, 30, tzinfo=UTC)
        # 02:00 UTC on Tuesday is still Monday 22:00 in New York, after its 17:00 cutoff.
        new_york = site(timezone="America/New_York", cutoff=time(17, 0))

        assert ship_date(site(cutoff=None), late_monday_utc) == date(2024, 5, 7)
        assert ship_date(new_york, datetime(2024, 5, 7, 2, 0, tzinfo=UTC)) == date(2024, 5, 7)
        assert ship_date(new_york, datetime(2024, 5, 6, 20, 0, tzinfo=UTC)) == MONDAY

    def test_a_naive_time_is_utc(self) -> None:
        # 12:30 UTC is 14:30 in Berlin (summer time): past the cutoff.
        assert ship_date(site(), datetime(2024, 5, 6, 12, 30)) == date(2024, 5, 7)


class TestDeliveryDate:
    @pytest.mark.parametrize(
        ("ship", "transit", "expected"),
        [
            (MONDAY, 0, MONDAY),
            (MONDAY, 1, date(2024, 5, 7)),
            (MONDAY, 2, date(2024, 5, 8)),
            (date(2024, 5, 9), 2, date(2024, 5, 13)),
            (date(2024, 5, 10), 1, date(2024, 5, 13)),
            (date(2024, 5, 10), 5, date(2024, 5, 17)),
            (MONDAY, 10, date(2024, 5, 20)),
        ],
    )
    def test_business_days(self, ship: date, transit: int, expected: date) -> None:
        assert delivery_date(ship, transit) == expected


class TestPromise:
    def test_one_option_per_level_standard_first(self) -> None:
        options = promise(
            LINES, "DE", BERLIN, [site()], STRATEGY, DEFAULT_RATE_TABLE, berlin(6, 10), None
        )

        assert [o.service_level for o in options] == ["standard", "express"]
        standard, express = options
        # Standard: dpd 4.60 + 2 x 2 days beats dhl 4.99 + 4 and ups 5.40 + 6.
        assert standard.parts == (
            PromisedPart("WH", "dpd", "classic", MONDAY, date(2024, 5, 8), ("L1", "L2", "L3")),
        )
        assert (standard.earliest_ship_date, standard.delivery_date) == (
            MONDAY,
            date(2024, 5, 8),
        )
        assert express.parts[0].carrier == "ups"
        assert express.parts[0].service == "express_saver"
        assert express.delivery_date == date(2024, 5, 7)
        assert standard.explanation == (
            "Standard delivery by 2024-05-08: "
            "WH ships 2024-05-06 with dpd classic, arriving 2024-05-08."
        )

    def test_only_the_level_asked_for(self) -> None:
        options = promise(
            LINES, "DE", BERLIN, [site()], STRATEGY, DEFAULT_RATE_TABLE, berlin(6, 10), "express"
        )

        assert [o.service_level for o in options] == ["express"]

    def test_a_split_ships_complete_when_the_last_part_leaves(self) -> None:
        sites = [
            site("WH-BERLIN", BERLIN, available={"LAMP": 5, "MUG": 5}),
            site("WH-HAMBURG", HAMBURG, available={"RUG": 5}, processing_days=1),
        ]

        options = promise(
            LINES, "DE", BERLIN, sites, STRATEGY, DEFAULT_RATE_TABLE, berlin(6, 10), "standard"
        )

        (option,) = options
        parts = {p.location_code: p for p in option.parts}
        assert parts["WH-BERLIN"].line_ids == ("L1", "L2")
        assert parts["WH-HAMBURG"].line_ids == ("L3",)
        assert parts["WH-BERLIN"].ship_date == MONDAY
        assert parts["WH-HAMBURG"].ship_date == date(2024, 5, 7)
        assert option.earliest_ship_date == date(2024, 5, 7)
        assert option.delivery_date == max(p.delivery_date for p in option.parts)
        assert "in 2 parts" in option.explanation

    def test_the_carrier_is_chosen_as_the_ship_step_chooses_it(self) -> None:
        munich = site("WH-MUNICH", MUNICH)

        (option,) = promise(
            LINES, "AT", BERLIN, [munich], STRATEGY, DEFAULT_RATE_TABLE, berlin(6, 10), "standard"
        )

        expected = select_service(
            DEFAULT_RATE_TABLE,
            distance_km=great_circle_km(MUNICH, BERLIN),
            domestic=False,
            level="standard",
        )
        assert expected is not None
        assert (option.parts[0].carrier, option.parts[0].service) == (
            expected.carrier,
            expected.service,
        )
        assert option.delivery_date == delivery_date(MONDAY, expected.transit_days)

    def test_the_same_routing_as_an_order(self) -> None:
        strategy = Strategy(version=3, weights=Weights(priority=5.0))
        sites = [site("WH-BERLIN", BERLIN, priority=100), site("WH-MUNICH", MUNICH, priority=900)]
        request = RoutingRequest(LINES, Method.SHIP, "DE", BERLIN, service_level="standard")

        decision = route(request, sites, strategy, DEFAULT_RATE_TABLE)
        (option,) = promise(
            LINES, "DE", BERLIN, sites, strategy, DEFAULT_RATE_TABLE, berlin(6, 10), "standard"
        )

        assert [p.location_code for p in option.parts] == ["WH-MUNICH"]
        assert [p.location_code for p in decision.parts] == ["WH-MUNICH"]

    def test_no_option_when_nothing_is_in_stock_even_if_it_would_backorder(self) -> None:
        strategy = Strategy(version=3, no_route_policy=NoRoutePolicy.BACKORDER)

        options = promise(
            LINES,
            "DE",
            BERLIN,
            [site(available={})],
            strategy,
            DEFAULT_RATE_TABLE,
            berlin(6, 10),
            None,
        )

        assert options == []

    def test_no_option_for_a_level_no_carrier_offers(self) -> None:
        options = promise(
            LINES, "DE", BERLIN, [site()], STRATEGY, DEFAULT_RATE_TABLE, berlin(6, 10), "same_day"
        )

        assert options == []

    def test_levels_beyond_standard_and_express_come_last(self) -> None:
        def flat(name: str, level: str, days: int) -> CarrierService:
            price = Decimal("5")
            return CarrierService("post", name, level, price, Decimal(0), Decimal(0), days, days)

        rates = RateTable(
            "EUR", (flat("eco", "economy", 5), flat("std", "standard", 2), flat("x", "express", 1))
        )

        options = promise(LINES, "DE", BERLIN, [site()], STRATEGY, rates, berlin(6, 10), None)

        assert [(o.service_level, o.delivery_date) for o in options] == [
            ("standard", date(2024, 5, 8)),
            ("express", date(2024, 5, 7)),
            ("economy", date(2024, 5, 13)),
        ]


class TestRequestedDeliveryDate:
    def test_each_option_says_whether_it_arrives_by_then_in_the_usual_order(self) -> None:
        options = promise(
            LINES,
            "DE",
            BERLIN,
            [site()],
            STRATEGY,
            DEFAULT_RATE_TABLE,
            berlin(6, 10),
            None,
            requested_delivery_date=date(2024, 5, 7),
        )

        assert [(o.service_level, o.delivery_date, o.meets_requested_date) for o in options] == [
            ("standard", date(2024, 5, 8), False),
            ("express", date(2024, 5, 7), True),
        ]

    def test_without_a_date_no_option_says(self) -> None:
        options = promise(
            LINES, "DE", BERLIN, [site()], STRATEGY, DEFAULT_RATE_TABLE, berlin(6, 10), None
        )

        assert [o.meets_requested_date for o in options] == [None, None]

    def test_the_options_route_as_the_order_would_by_the_date(self) -> None:
        # Berlin is nearer but packs for three days; Hamburg ships today.
        sites = [site("WH-BERLIN", BERLIN, processing_days=3), site("WH-HAMBURG", HAMBURG)]

        def standard(requested: date | None) -> tuple[str, date, bool | None]:
            (option,) = promise(
                LINES,
                "DE",
                BERLIN,
                sites,
                STRATEGY,
                DEFAULT_RATE_TABLE,
                berlin(6, 10),
                "standard",
                requested_delivery_date=requested,
            )
            (part,) = option.parts
            return part.location_code, option.delivery_date, option.meets_requested_date

        assert standard(None) == ("WH-BERLIN", date(2024, 5, 13), None)
        assert standard(date(2024, 5, 8)) == ("WH-HAMBURG", date(2024, 5, 8), True)
        assert standard(date(2024, 5, 7)) == ("WH-BERLIN", date(2024, 5, 13), False)
