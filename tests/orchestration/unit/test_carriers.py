"""Carrier rates, the carrier selector, and tracking numbers."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orchestration.domain.carriers import (
    ASSUMED_DISTANCE_KM,
    DEFAULT_RATE_TABLE,
    CarrierService,
    RateTable,
    select_service,
    tracking_number,
)
from services.orchestration.domain.routing.model import Quote


def service(carrier: str, name: str, level: str, price: str, days: int) -> CarrierService:
    """A flat-priced service: the same price at any distance, no surcharge abroad."""
    return CarrierService(carrier, name, level, Decimal(price), Decimal(0), Decimal(0), days, days)


def by_name(carrier: str, name: str) -> CarrierService:
    return next(s for s in DEFAULT_RATE_TABLE.services if (s.carrier, s.service) == (carrier, name))


class TestQuote:
    def test_price_is_base_plus_distance(self) -> None:
        quote = DEFAULT_RATE_TABLE.quote(by_name("dhl", "paket"), distance_km=300, domestic=True)

        # 4.99 + 0.20 x 3
        assert quote == Quote("dhl", "paket", "standard", Decimal("5.59"), "EUR", 2)

    def test_abroad_adds_the_surcharge_and_takes_longer(self) -> None:
        quote = DEFAULT_RATE_TABLE.quote(by_name("dhl", "paket"), distance_km=300, domestic=False)

        assert quote.price == Decimal("14.59")
        assert quote.transit_days == 5

    def test_an_unknown_distance_is_priced_as_the_assumed_one(self) -> None:
        paket = by_name("dpd", "classic")

        unknown = DEFAULT_RATE_TABLE.quote(paket, distance_km=None, domestic=True)
        assumed = DEFAULT_RATE_TABLE.quote(paket, distance_km=ASSUMED_DISTANCE_KM, domestic=True)

        assert unknown == assumed

    def test_prices_round_half_up_to_the_cent(self) -> None:
        per_km = CarrierService("x", "y", "standard", Decimal(0), Decimal("0.01"), Decimal(0), 1, 1)
        table = RateTable("EUR", (per_km,))

        # 0.01 x 50 / 100 = 0.005: half-even would give 0.00.
        assert table.quote(per_km, distance_km=50, domestic=True).price == Decimal("0.01")
        assert table.quote(per_km, distance_km=149, domestic=True).price == Decimal("0.01")
        assert table.quote(per_km, distance_km=151, domestic=True).price == Decimal("0.02")

    def test_a_fractional_distance_is_priced_exactly(self) -> None:
        paket = by_name("dhl", "paket")

        quote = DEFAULT_RATE_TABLE.quote(paket, distance_km=252.5, domestic=True)

        assert quote.price == Decimal("5.50")  # 4.99 + 0.20 x 2.525 = 5.495, half up

    def test_a_negative_distance_counts_as_none(self) -> None:
        paket = by_name("dhl", "paket")

        assert DEFAULT_RATE_TABLE.quote(paket, distance_km=-5, domestic=True).price == Decimal(
            "4.99"
        )


class TestQuotes:
    def test_only_the_level_cheapest_first(self) -> None:
        quotes = DEFAULT_RATE_TABLE.quotes(distance_km=300, domestic=True, level="standard")

        assert [(q.carrier, q.service, q.price) for q in quotes] == [
            ("dpd", "classic", Decimal("5.35")),
            ("dhl", "paket", Decimal("5.59")),
            ("ups", "standard", Decimal("5.94")),
        ]

    def test_every_level_when_none(self) -> None:
        quotes = DEFAULT_RATE_TABLE.quotes(distance_km=300, domestic=True, level=None)

        assert len(quotes) == len(DEFAULT_RATE_TABLE.services)
        assert [q.price for q in quotes] == sorted(q.price for q in quotes)

    def test_cheapest(self) -> None:
        express = DEFAULT_RATE_TABLE.cheapest(distance_km=300, domestic=True, level="express")
        abroad = DEFAULT_RATE_TABLE.cheapest(distance_km=300, domestic=False, level="standard")

        assert express is not None
        assert (express.carrier, express.service, express.price) == (
            "ups",
            "express_saver",
            Decimal("15.60"),
        )
        assert abroad is not None
        assert (abroad.carrier, abroad.price) == ("ups", Decimal("13.44"))

    @given(
        km=st.one_of(st.none(), st.floats(min_value=-10, max_value=20_000)),
        domestic=st.booleans(),
        level=st.sampled_from(["standard", "express", None, "same_day"]),
    )
    def test_the_cheapest_in_cents_is_the_cheapest_quote(
        self, km: float | None, domestic: bool, level: str | None
    ) -> None:
        cheapest = DEFAULT_RATE_TABLE.cheapest(distance_km=km, domestic=domestic, level=level)
        cents = DEFAULT_RATE_TABLE.cheapest_cents(distance_km=km, domestic=domestic, level=level)

        assert cents == (None if cheapest is None else int(cheapest.price * 100))

    @pytest.mark.parametrize("km", [312.5, 312.49999999999994, 312.50000000000006, 2.5, 7.5])
    def test_the_cheapest_in_cents_rounds_a_half_cent_as_the_quote_does(self, km: float) -> None:
        """4.99 + 0.20 x 312.5 / 100 is 5.615 exactly, which floats do not hold: a price that
        close to a half cent is priced in Decimal."""
        table = RateTable("EUR", (by_name("dhl", "paket"),))
        quote = table.cheapest(distance_km=km, domestic=True, level="standard")

        assert quote is not None
        assert table.cheapest_cents(distance_km=km, domestic=True, level="standard") == int(
            quote.price * 100
        )

    def test_no_quote_for_a_level_nobody_offers(self) -> None:
        assert DEFAULT_RATE_TABLE.cheapest(distance_km=10, domestic=True, level="same_day") is None
        assert DEFAULT_RATE_TABLE.quotes(distance_km=10, domestic=True, level="same_day") == []

    def test_equal_prices_are_ordered_by_speed_then_name(self) -> None:
        table = RateTable(
            "EUR",
            (
                service("zeta", "slow", "standard", "5.00", 3),
                service("beta", "fast", "standard", "5.00", 1),
                service("alpha", "fast", "standard", "5.00", 1),
            ),
        )

        quotes = table.quotes(distance_km=None, domestic=True, level=None)

        assert [q.carrier for q in quotes] == ["alpha", "beta", "zeta"]

    def test_levels_standard_and_express_first_then_by_name(self) -> None:
        table = RateTable(
            "EUR",
            (
                service("a", "1", "same_day", "20", 0),
                service("a", "2", "express", "10", 1),
                service("a", "3", "economy", "3", 6),
                service("a", "4", "standard", "5", 2),
                service("b", "4", "standard", "5", 2),
            ),
        )

        assert table.levels() == ("standard", "express", "economy", "same_day")
        assert DEFAULT_RATE_TABLE.levels() == ("standard", "express")


class TestSelectService:
    def test_cost_and_speed_together(self) -> None:
        table = RateTable(
            "EUR",
            (
                service("slowpost", "ground", "standard", "5.00", 5),
                service("quickship", "parcel", "standard", "7.00", 1),
            ),
        )

        chosen = select_service(table, distance_km=None, domestic=True, level="standard")
        price_only = select_service(
            table, distance_km=None, domestic=True, level="standard", speed_weight=Decimal(0)
        )

        # 7.00 + 2 x 1 = 9.00 beats 5.00 + 2 x 5 = 15.00
        assert chosen is not None
        assert chosen.carrier == "quickship"
        assert price_only is not None
        assert price_only.carrier == "slowpost"

    def test_default_table(self) -> None:
        standard = select_service(
            DEFAULT_RATE_TABLE, distance_km=300, domestic=True, level="standard"
        )
        any_level = select_service(DEFAULT_RATE_TABLE, distance_km=300, domestic=True, level=None)

        # dpd 5.35 + 4 = 9.35; dhl paket 5.59 + 4 = 9.59; ups 5.94 + 6 = 11.94
        assert standard is not None
        assert (standard.carrier, standard.service) == ("dpd", "classic")
        assert any_level == standard

    def test_ties_go_to_the_carrier_then_the_service_by_name(self) -> None:
        table = RateTable(
            "EUR",
            (
                service("ups", "b", "standard", "6.00", 2),
                service("dhl", "b", "standard", "6.00", 2),
                service("dhl", "a", "standard", "6.00", 2),
                # 4.00 + 2 x 3 = 10.00: the same cost-and-speed figure as the others.
                service("aaa", "slow", "standard", "4.00", 3),
            ),
        )

        chosen = select_service(table, distance_km=None, domestic=True, level="standard")

        assert chosen is not None
        assert (chosen.carrier, chosen.service) == ("aaa", "slow")
        table = replace(table, services=table.services[:3])
        chosen = select_service(table, distance_km=None, domestic=True, level="standard")
        assert chosen is not None
        assert (chosen.carrier, chosen.service) == ("dhl", "a")

    def test_none_when_the_level_is_not_offered(self) -> None:
        assert (
            select_service(DEFAULT_RATE_TABLE, distance_km=1, domestic=True, level="same_day")
            is None
        )


class TestRateTableData:
    def test_round_trips_through_json(self) -> None:
        data = json.loads(json.dumps(DEFAULT_RATE_TABLE.to_dict()))

        assert RateTable.from_dict(data) == DEFAULT_RATE_TABLE

    def test_money_travels_as_strings(self) -> None:
        entry = DEFAULT_RATE_TABLE.to_dict()["services"][0]

        assert entry == {
            "carrier": "dhl",
            "service": "paket",
            "level": "standard",
            "base_price": "4.99",
            "per_100km": "0.20",
            "international_surcharge": "9.00",
            "transit_days": 2,
            "international_transit_days": 5,
        }

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"base_price": 4.99}, "base_price must be a decimal string"),
            ({"base_price": "cheap"}, "base_price must be a decimal string"),
            ({"per_100km": "-0.10"}, "per_100km must be 0 or more"),
            ({"international_surcharge": "NaN"}, "international_surcharge must be 0 or more"),
            ({"transit_days": "2"}, "transit_days must be a whole number"),
            ({"transit_days": True}, "transit_days must be a whole number"),
            ({"international_transit_days": -1}, "transit days must be 0 or more"),
            ({"carrier": ""}, "carrier must be a non-empty string"),
            ({"level": None}, "level must be a non-empty string"),
        ],
    )
    def test_bad_services_are_refused(self, change: dict[str, Any], message: str) -> None:
        data = DEFAULT_RATE_TABLE.to_dict()
        data["services"][0].update(change)

        with pytest.raises(ValueError, match=message):
            RateTable.from_dict(data)

    def test_a_whole_number_price_is_accepted(self) -> None:
        data = DEFAULT_RATE_TABLE.to_dict()
        data["services"][0]["base_price"] = 5

        assert RateTable.from_dict(data).services[0].base_price == Decimal(5)

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"currency": "EUR"}, "services must be a list"),
            ({"currency": "euro", "services": []}, "ISO 4217"),
            ({"services": []}, "currency must be a non-empty string"),
            ({"currency": "EUR", "services": ["dhl"]}, "each service must be an object"),
        ],
    )
    def test_bad_tables_are_refused(self, data: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            RateTable.from_dict(data)

    def test_a_service_appears_once(self) -> None:
        data = DEFAULT_RATE_TABLE.to_dict()
        data["services"].append(data["services"][0])

        with pytest.raises(ValueError, match="only once"):
            RateTable.from_dict(data)

    def test_the_default_table_is_in_euro_with_the_five_services(self) -> None:
        assert DEFAULT_RATE_TABLE.currency == "EUR"
        assert {
            (s.carrier, s.service, s.level, s.transit_days, s.international_transit_days)
            for s in DEFAULT_RATE_TABLE.services
        } == {
            ("dhl", "paket", "standard", 2, 5),
            ("dhl", "express", "express", 1, 2),
            ("dpd", "classic", "standard", 2, 4),
            ("ups", "standard", "standard", 3, 5),
            ("ups", "express_saver", "express", 1, 2),
        }


class TestTrackingNumber:
    @pytest.mark.parametrize(
        ("carrier", "shape"),
        [
            ("dhl", r"^\d{20}$"),
            ("DHL", r"^\d{20}$"),
            ("ups", r"^1Z[0-9A-Z]{16}$"),
            ("dpd", r"^\d{14}$"),
            ("hermes", r"^\d{14}$"),
        ],
    )
    def test_the_carriers_shape(self, carrier: str, shape: str) -> None:
        for seed in ("fo-1", "fo-2", "0190a5e4-7c1e-7d2a-9b1e-2f3c4d5e6f70"):
            assert re.match(shape, tracking_number(carrier, seed))

    def test_the_same_seed_gives_the_same_number(self) -> None:
        assert tracking_number("dhl", "fo-1") == tracking_number("dhl", "fo-1")
        assert tracking_number("ups", "fo-1") == tracking_number("ups", "fo-1")

    def test_different_seeds_give_different_numbers(self) -> None:
        numbers = {tracking_number("dpd", f"fo-{i}") for i in range(1000)}

        assert len(numbers) == 1000


# Rates close to each other, so that estimates often fall within cents of one another and the
# exact comparison (price, transit days, carrier, service) has to decide.
CLOSE_RATES = RateTable(
    currency="EUR",
    services=(
        CarrierService(
            "a", "one", "standard", Decimal("4.99"), Decimal("0.20"), Decimal("9"), 2, 5
        ),
        CarrierService(
            "b", "two", "standard", Decimal("4.995"), Decimal("0.20"), Decimal("9"), 1, 5
        ),
        CarrierService(
            "c", "three", "standard", Decimal("5.00"), Decimal("0.199"), Decimal("8.99"), 2, 4
        ),
        CarrierService(
            "d", "four", "express", Decimal("9.00"), Decimal("0.10"), Decimal("1"), 1, 1
        ),
    ),
)


@given(
    km=st.one_of(st.none(), st.floats(min_value=-10, max_value=5000, allow_nan=False)),
    domestic=st.booleans(),
    level=st.sampled_from([None, "standard", "express", "overnight"]),
    table=st.sampled_from([DEFAULT_RATE_TABLE, CLOSE_RATES]),
)
def test_the_cheapest_quote_is_the_first_of_every_quote(
    km: float | None, domestic: bool, level: str | None, table: RateTable
) -> None:
    """cheapest() prices exactly only the services that can be cheapest: it must always give
    what pricing every service exactly and sorting gives."""
    every = table.quotes(distance_km=km, domestic=domestic, level=level)
    found = table.cheapest(distance_km=km, domestic=domestic, level=level)
    assert found == (every[0] if every else None)


@given(
    km=st.one_of(st.none(), st.floats(min_value=-10, max_value=5000, allow_nan=False)),
    domestic=st.booleans(),
    level=st.sampled_from([None, "standard", "express", "overnight"]),
    table=st.sampled_from([DEFAULT_RATE_TABLE, CLOSE_RATES]),
    speed_weight=st.sampled_from([Decimal("2.00"), Decimal(0), Decimal("0.005"), Decimal("0.3")]),
)
def test_the_selected_service_is_the_best_of_every_quote(
    km: float | None, domestic: bool, level: str | None, table: RateTable, speed_weight: Decimal
) -> None:
    """select_service quotes exactly only the services that can come out best: it must always
    choose what quoting every service exactly and taking the lowest figure chooses."""
    every = table.quotes(distance_km=km, domestic=domestic, level=level)
    best = min(
        every,
        key=lambda q: (q.price + speed_weight * q.transit_days, q.carrier, q.service),
        default=None,
    )
    found = select_service(
        table, distance_km=km, domestic=domestic, level=level, speed_weight=speed_weight
    )
    assert found == best
