"""The routing engine: filters, scores, plans, policies and the sentence that explains them."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.orchestration.domain.carriers import DEFAULT_RATE_TABLE
from services.orchestration.domain.routing.engine import route
from services.orchestration.domain.routing.geo import EARTH_RADIUS_KM, great_circle_km, km_to
from services.orchestration.domain.routing.model import (
    CandidateReport,
    Demand,
    FilterVerdict,
    GeoPoint,
    Method,
    NoRoutePolicy,
    Outcome,
    RoutingDecision,
    RoutingRequest,
    Scored,
    Site,
    Strategy,
    Weights,
)

BERLIN = GeoPoint(52.5200, 13.4050)
HAMBURG = GeoPoint(53.5511, 9.9937)
MUNICH = GeoPoint(48.1372, 11.5756)
COLOGNE = GeoPoint(50.9375, 6.9603)
PARIS = GeoPoint(48.8566, 2.3522)

LAMP, MUG, RUG = "LAMP-001", "MUG-002", "RUG-003"
LINES = (Demand("L1", LAMP, 1), Demand("L2", MUG, 2), Demand("L3", RUG, 1))
ALL_STOCK = {LAMP: 10, MUG: 10, RUG: 10}
FILTERS = ("active", "capability", "not_excluded", "country", "capacity", "stock")
COMPONENTS = ("distance", "shipping_cost", "priority", "parts", "stock_depth")


def warehouse(code: str, point: GeoPoint | None, **changes: object) -> Site:
    site = Site(
        code=code,
        type="warehouse",
        active=True,
        capabilities=frozenset({"ship"}),
        country="DE",
        point=point,
        priority=500,
        available=dict(ALL_STOCK),
        incoming=dict(ALL_STOCK),  # a purchase order on its way: a backorder can wait for it
    )
    return replace(site, **changes)  # type: ignore[arg-type]


def store(code: str, point: GeoPoint | None, **changes: object) -> Site:
    return replace(warehouse(code, point), type="store", **changes)  # type: ignore[arg-type]


def ship(**changes: object) -> RoutingRequest:
    request = RoutingRequest(
        lines=LINES, method=Method.SHIP, ship_to_country="DE", ship_to_point=BERLIN
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def pickup(code: str, **changes: object) -> RoutingRequest:
    return ship(method=Method.PICKUP, pickup_location=code, **changes)


STRATEGY = Strategy(version=7)
BACKORDER = Strategy(version=7, no_route_policy=NoRoutePolicy.BACKORDER)

# What a plan allocates: location -> (line, quantity, backorder) in allocation order.
Plan = dict[str, tuple[tuple[str, int, bool], ...]]


def in_full(*line_ids: str) -> tuple[tuple[str, int, bool], ...]:
    quantities = {line.line_id: line.quantity for line in LINES}
    return tuple((line_id, quantities[line_id], False) for line_id in line_ids)


def plan_of(decision: RoutingDecision) -> Plan:
    return {
        part.location_code: tuple((a.line_id, a.quantity, a.backorder) for a in part.allocations)
        for part in decision.parts
    }


@dataclass(frozen=True)
class Scenario:
    sites: tuple[Site, ...]
    request: RoutingRequest
    outcome: Outcome
    plan: Plan
    strategy: Strategy = STRATEGY
    reason: str | None = None
    explained: tuple[str, ...] = ()  # phrases the explanation must contain
    rejected: dict[str, str] = field(default_factory=dict)  # site -> failing filter's name


SCENARIOS = {
    "single_location_serves_all": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN, available={LAMP: 5, MUG: 5}),
            warehouse("WH-HAMBURG", HAMBURG),
        ),
        request=ship(),
        outcome=Outcome.ROUTED,
        plan={"WH-HAMBURG": in_full("L1", "L2", "L3")},
        explained=(
            "WH-HAMBURG: only location with all 3 lines in stock",
            "WH-BERLIN has 2 of 3 lines in stock",
        ),
    ),
    "nearest_wins": Scenario(
        sites=(warehouse("WH-MUNICH", MUNICH), warehouse("WH-BERLIN", BERLIN)),
        request=ship(),
        outcome=Outcome.ROUTED,
        plan={"WH-BERLIN": in_full("L1", "L2", "L3")},
        explained=("WH-BERLIN: nearest location with all 3 lines in stock", "WH-MUNICH scored"),
    ),
    "priority_beats_distance_when_weighted_so": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN, priority=100),
            warehouse("WH-MUNICH", MUNICH, priority=900),
        ),
        request=ship(),
        strategy=Strategy(version=7, weights=Weights(priority=5.0)),
        outcome=Outcome.ROUTED,
        plan={"WH-MUNICH": in_full("L1", "L2", "L3")},
        explained=("WH-MUNICH: highest-priority location", "WH-BERLIN scored lower"),
    ),
    "forced_split_across_two_warehouses": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN, available={LAMP: 3, MUG: 3}),
            warehouse("WH-HAMBURG", HAMBURG, available={RUG: 3}),
        ),
        request=ship(),
        outcome=Outcome.ROUTED,
        plan={"WH-BERLIN": in_full("L1", "L2"), "WH-HAMBURG": in_full("L3")},
        explained=(
            "Split into 2 parts (no single location has all 3 lines in stock)",
            "WH-BERLIN 2 lines, WH-HAMBURG 1 line",
        ),
    ),
    "a_line_split_across_warehouses": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN, available={LAMP: 1, MUG: 1, RUG: 1}),
            warehouse("WH-HAMBURG", HAMBURG, available={MUG: 1}),
        ),
        request=ship(),
        outcome=Outcome.ROUTED,
        plan={
            "WH-BERLIN": (("L1", 1, False), ("L2", 1, False), ("L3", 1, False)),
            "WH-HAMBURG": (("L2", 1, False),),
        },
        explained=("Split into 2 parts",),
    ),
    "split_beyond_max_parts_rejected": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN, available={LAMP: 3}),
            warehouse("WH-HAMBURG", HAMBURG, available={MUG: 3}),
            warehouse("WH-MUNICH", MUNICH, available={RUG: 3}),
        ),
        request=ship(),
        strategy=Strategy(version=7, max_parts=2),
        outcome=Outcome.UNROUTABLE,
        plan={},
        reason="no location can ship all 3 lines within 2 parts",
        explained=("Unroutable: no location can ship all 3 lines within 2 parts",),
    ),
    "split_beyond_max_parts_backordered": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN, available={LAMP: 3}),
            warehouse("WH-HAMBURG", HAMBURG, available={MUG: 3}),
            warehouse("WH-MUNICH", MUNICH, available={RUG: 3}),
        ),
        request=ship(),
        strategy=Strategy(version=7, max_parts=2, no_route_policy=NoRoutePolicy.BACKORDER),
        outcome=Outcome.BACKORDERED,
        plan={"WH-BERLIN": (("L1", 1, False), ("L2", 2, True), ("L3", 1, True))},
        reason="no location can ship all 3 lines within 2 parts",
        explained=(
            "Backordered at WH-BERLIN",
            "1 of 4 units from stock on hand, the rest on backorder",
        ),
    ),
    "pickup_at_the_chosen_store": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN),
            store("STORE-MUC", MUNICH, capabilities=frozenset({"pickup"})),
            store("STORE-BERLIN", BERLIN, capabilities=frozenset({"pickup"})),
        ),
        request=pickup("STORE-MUC"),
        outcome=Outcome.ROUTED,
        plan={"STORE-MUC": in_full("L1", "L2", "L3")},
        explained=(
            "STORE-MUC: the chosen pickup store, all 3 lines in stock",
            "2 other locations are not the chosen pickup store",
        ),
        rejected={"WH-BERLIN": "capability", "STORE-BERLIN": "capability"},
    ),
    "pickup_store_without_stock_rejected": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN),
            store("STORE-MUC", MUNICH, capabilities=frozenset({"pickup"}), available={MUG: 1}),
        ),
        request=pickup("STORE-MUC", lines=(Demand("L1", LAMP, 1), Demand("L2", MUG, 2))),
        outcome=Outcome.UNROUTABLE,
        plan={},
        reason="pickup store STORE-MUC has 0 of 1 units of LAMP-001, 1 of 2 units of MUG-002",
        explained=("Unroutable: pickup store STORE-MUC has 0 of 1 units of LAMP-001",),
    ),
    "pickup_store_without_stock_backordered_for_its_channel": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN),
            store("STORE-MUC", MUNICH, capabilities=frozenset({"pickup"}), available={MUG: 1}),
        ),
        request=pickup(
            "STORE-MUC", lines=(Demand("L1", LAMP, 1), Demand("L2", MUG, 2)), channel="store"
        ),
        strategy=Strategy(version=7, channel_policies={"store": NoRoutePolicy.BACKORDER}),
        outcome=Outcome.BACKORDERED,
        plan={"STORE-MUC": (("L1", 1, True), ("L2", 1, False), ("L2", 1, True))},
        reason="pickup store STORE-MUC has 0 of 1 units of LAMP-001, 1 of 2 units of MUG-002",
        explained=("Backordered at STORE-MUC", "1 of 3 units from stock on hand"),
    ),
    "pickup_store_without_pickup_capability": Scenario(
        sites=(store("STORE-MUC", MUNICH, capabilities=frozenset({"ship_from_store"})),),
        request=pickup("STORE-MUC"),
        strategy=BACKORDER,
        outcome=Outcome.UNROUTABLE,
        plan={},
        reason="pickup store STORE-MUC cannot serve: no pickup capability",
        rejected={"STORE-MUC": "capability"},
    ),
    "ship_from_store_is_eligible": Scenario(
        sites=(
            store("STORE-BERLIN", BERLIN, capabilities=frozenset({"ship_from_store"})),
            warehouse("WH-MUNICH", MUNICH),
        ),
        request=ship(),
        outcome=Outcome.ROUTED,
        plan={"STORE-BERLIN": in_full("L1", "L2", "L3")},
        explained=("STORE-BERLIN: nearest location",),
    ),
    "store_without_ship_from_store_is_rejected": Scenario(
        sites=(
            store("STORE-BERLIN", BERLIN, capabilities=frozenset({"pickup", "ship"})),
            warehouse("WH-MUNICH", MUNICH),
        ),
        request=ship(),
        outcome=Outcome.ROUTED,
        plan={"WH-MUNICH": in_full("L1", "L2", "L3")},
        explained=(
            "WH-MUNICH: only eligible location",
            "STORE-BERLIN rejected: no ship_from_store capability",
        ),
        rejected={"STORE-BERLIN": "capability"},
    ),
    "capacity_exhausted_goes_to_the_next_location": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN, daily_capacity=40, used_today=40),
            warehouse("WH-HAMBURG", HAMBURG, daily_capacity=40, used_today=39),
            warehouse("WH-MUNICH", MUNICH),
        ),
        request=ship(),
        outcome=Outcome.ROUTED,
        plan={"WH-HAMBURG": in_full("L1", "L2", "L3")},
        explained=("WH-BERLIN rejected: daily capacity 40 reached",),
        rejected={"WH-BERLIN": "capacity"},
    ),
    "excluded_location_is_never_chosen": Scenario(
        sites=(warehouse("WH-BERLIN", BERLIN), warehouse("WH-MUNICH", MUNICH)),
        request=ship(excluded=frozenset({"WH-BERLIN"})),
        outcome=Outcome.ROUTED,
        plan={"WH-MUNICH": in_full("L1", "L2", "L3")},
        explained=("WH-BERLIN rejected: rejected or short-picked this order before",),
        rejected={"WH-BERLIN": "not_excluded"},
    ),
    "inactive_location_is_skipped": Scenario(
        sites=(warehouse("WH-BERLIN", BERLIN, active=False), warehouse("WH-MUNICH", MUNICH)),
        request=ship(),
        outcome=Outcome.ROUTED,
        plan={"WH-MUNICH": in_full("L1", "L2", "L3")},
        explained=("WH-BERLIN rejected: inactive",),
        rejected={"WH-BERLIN": "active"},
    ),
    "country_not_allowed": Scenario(
        sites=(warehouse("WH-COLOGNE", COLOGNE), warehouse("WH-MUNICH", MUNICH)),
        request=ship(ship_to_country="FR", ship_to_point=PARIS),
        strategy=Strategy(version=7, allowed_destinations={"WH-COLOGNE": frozenset({"DE", "AT"})}),
        outcome=Outcome.ROUTED,
        plan={"WH-MUNICH": in_full("L1", "L2", "L3")},
        explained=("WH-COLOGNE rejected: does not ship to FR",),
        rejected={"WH-COLOGNE": "country"},
    ),
    "nothing_in_stock_backordered": Scenario(
        sites=(
            warehouse("WH-MUNICH", MUNICH, available={}),
            warehouse("WH-BERLIN", BERLIN, available={}),
            warehouse("WH-HAMBURG", HAMBURG, active=False),
        ),
        request=ship(),
        strategy=BACKORDER,
        outcome=Outcome.BACKORDERED,
        plan={"WH-BERLIN": (("L1", 1, True), ("L2", 2, True), ("L3", 1, True))},
        reason="no location can ship all 3 lines within 3 parts",
        explained=(
            "Backordered at WH-BERLIN (no location can ship all 3 lines within 3 parts): "
            "everything on backorder; WH-HAMBURG rejected: inactive",
        ),
        rejected={"WH-MUNICH": "stock", "WH-BERLIN": "stock", "WH-HAMBURG": "active"},
    ),
    "nothing_in_stock_rejected": Scenario(
        sites=(warehouse("WH-MUNICH", MUNICH, available={}),),
        request=ship(),
        outcome=Outcome.UNROUTABLE,
        plan={},
        reason="no location can ship all 3 lines within 3 parts",
        explained=("WH-MUNICH rejected: none of the 3 lines in stock",),
        rejected={"WH-MUNICH": "stock"},
    ),
    "no_location_passes_the_other_filters_even_to_backorder": Scenario(
        sites=(warehouse("WH-MUNICH", MUNICH, available={}, active=False),),
        request=ship(),
        strategy=BACKORDER,
        outcome=Outcome.UNROUTABLE,
        plan={},
        reason="no location passes the filters for this order",
        explained=("WH-MUNICH rejected: inactive",),
    ),
    "channel_policy_backorders_where_the_default_rejects": Scenario(
        sites=(warehouse("WH-MUNICH", MUNICH, available={LAMP: 1}),),
        request=ship(channel="marketplace"),
        strategy=Strategy(version=7, channel_policies={"marketplace": NoRoutePolicy.BACKORDER}),
        outcome=Outcome.BACKORDERED,
        plan={"WH-MUNICH": (("L1", 1, False), ("L2", 2, True), ("L3", 1, True))},
        reason="no location can ship all 3 lines within 3 parts",
    ),
    "backordered_only_where_stock_is_expected": Scenario(
        sites=(
            warehouse("WH-BERLIN", BERLIN, available={}, incoming={}),
            warehouse("WH-MUNICH", MUNICH, available={}, incoming={LAMP: 1, MUG: 5, RUG: 1}),
        ),
        request=ship(),
        strategy=BACKORDER,
        outcome=Outcome.BACKORDERED,
        plan={"WH-MUNICH": (("L1", 1, True), ("L2", 2, True), ("L3", 1, True))},
        reason="no location can ship all 3 lines within 3 parts",
        explained=("Backordered at WH-MUNICH",),
    ),
    "nothing_expected_anywhere_cannot_be_backordered": Scenario(
        sites=(warehouse("WH-BERLIN", BERLIN, available={LAMP: 1}, incoming={MUG: 1}),),
        request=ship(),
        strategy=BACKORDER,
        outcome=Outcome.UNROUTABLE,
        plan={},
        reason="no location can ship all 3 lines within 3 parts",
    ),
    "channel_policy_rejects_where_the_default_backorders": Scenario(
        sites=(warehouse("WH-MUNICH", MUNICH, available={LAMP: 1}),),
        request=ship(channel="b2b"),
        strategy=Strategy(
            version=7,
            no_route_policy=NoRoutePolicy.BACKORDER,
            channel_policies={"b2b": NoRoutePolicy.REJECT},
        ),
        outcome=Outcome.UNROUTABLE,
        plan={},
        reason="no location can ship all 3 lines within 3 parts",
    ),
}


def decide(scenario: Scenario) -> RoutingDecision:
    return route(scenario.request, scenario.sites, scenario.strategy, DEFAULT_RATE_TABLE)


class TestScenarios:
    @pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
    def test_outcome_plan_and_reason(self, scenario: Scenario) -> None:
        decision = decide(scenario)

        assert decision.outcome is scenario.outcome
        assert plan_of(decision) == scenario.plan
        assert decision.reason == scenario.reason
        assert decision.strategy_version == 7

    @pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
    def test_the_explanation_names_the_winner_and_why_others_lost(self, scenario: Scenario) -> None:
        explanation = decide(scenario).explanation

        for phrase in scenario.explained:
            assert phrase in explanation
        assert explanation.endswith(".")
        assert "\n" not in explanation

    @pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
    def test_the_failing_filter_is_reported(self, scenario: Scenario) -> None:
        reports = {r.location_code: r for r in decide(scenario).candidates}

        for code, filter_name in scenario.rejected.items():
            failed = [v.name for v in reports[code].filters if not v.passed]
            assert filter_name in failed
            assert not reports[code].eligible

    @pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
    def test_every_site_gets_a_report_with_every_filter(self, scenario: Scenario) -> None:
        decision = decide(scenario)

        assert [r.location_code for r in decision.candidates] == sorted(
            s.code for s in scenario.sites
        )
        for report in decision.candidates:
            assert tuple(v.name for v in report.filters) == FILTERS
            assert all(v.reason for v in report.filters)
            assert report.eligible == all(v.passed for v in report.filters)

    @pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
    def test_scores_add_up(self, scenario: Scenario) -> None:
        for report in decide(scenario).candidates:
            if not report.eligible:
                assert report.components == ()
                assert report.total is None
                continue
            assert tuple(c.name for c in report.components) == COMPONENTS
            for component in report.components:
                assert 0.0 <= component.score <= 1.0
                assert component.contribution == component.score * component.weight
            assert report.total == round(sum(c.contribution for c in report.components), 4)

    @pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
    def test_the_same_decision_whatever_order_the_sites_come_in(self, scenario: Scenario) -> None:
        shuffled = list(scenario.sites)
        random.Random(4).shuffle(shuffled)

        assert decide(replace(scenario, sites=tuple(reversed(scenario.sites)))) == decide(scenario)
        assert decide(replace(scenario, sites=tuple(shuffled))) == decide(scenario)


def components_of(decision: RoutingDecision, code: str) -> dict[str, tuple[float, float]]:
    report = next(r for r in decision.candidates if r.location_code == code)
    return {c.name: (c.value, c.score) for c in report.components}


class TestFilters:
    def stock_reason(self, available: dict[str, int]) -> tuple[bool, str]:
        decision = route(
            ship(), [warehouse("WH", BERLIN, available=available)], STRATEGY, DEFAULT_RATE_TABLE
        )
        verdict = next(v for v in decision.candidates[0].filters if v.name == "stock")
        return verdict.passed, verdict.reason

    @pytest.mark.parametrize(
        ("available", "passed", "reason"),
        [
            (ALL_STOCK, True, "all 3 lines in stock"),
            ({LAMP: 1, MUG: 2}, True, "2 of 3 lines in stock"),
            ({MUG: 1}, True, "some stock, but none of the 3 lines in full"),
            ({}, False, "none of the 3 lines in stock"),
            ({"OTHER": 5}, False, "none of the 3 lines in stock"),
        ],
        ids=["all", "some_lines", "only_part_of_a_line", "empty", "other_skus_only"],
    )
    def test_stock_says_how_many_lines_it_serves_in_full(
        self, available: dict[str, int], passed: bool, reason: str
    ) -> None:
        assert self.stock_reason(available) == (passed, reason)

    def test_two_lines_of_one_sku_share_its_stock(self) -> None:
        lines = (Demand("L1", MUG, 2), Demand("L2", MUG, 2))
        decision = route(
            ship(lines=lines),
            [warehouse("WH", BERLIN, available={MUG: 3})],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )

        assert decision.candidates[0].covers_all is False
        assert decision.candidates[0].filters[-1].reason == "1 of 2 lines in stock"

    def test_a_store_that_ships_needs_ship_from_store_not_ship(self) -> None:
        decision = route(
            ship(),
            [store("STORE", BERLIN, capabilities=frozenset({"ship"}))],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )

        capability = decision.candidates[0].filters[1]
        assert capability.passed is False
        assert capability.reason == "no ship_from_store capability"

    def test_a_warehouse_needs_ship(self) -> None:
        decision = route(
            ship(),
            [warehouse("WH", BERLIN, capabilities=frozenset({"pickup"}))],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )

        assert decision.candidates[0].filters[1].reason == "no ship capability"

    def test_pickup_ignores_destination_rules(self) -> None:
        strategy = Strategy(version=1, allowed_destinations={"STORE": frozenset({"AT"})})
        decision = route(
            pickup("STORE"),
            [store("STORE", MUNICH, capabilities=frozenset({"pickup"}))],
            strategy,
            DEFAULT_RATE_TABLE,
        )

        assert decision.outcome is Outcome.ROUTED

    def test_pickup_without_a_chosen_store_is_unroutable(self) -> None:
        decision = route(
            ship(method=Method.PICKUP), [warehouse("WH", BERLIN)], BACKORDER, DEFAULT_RATE_TABLE
        )

        assert decision.outcome is Outcome.UNROUTABLE
        assert decision.reason == "no pickup store was chosen"

    def test_pickup_at_an_unknown_store_is_unroutable(self) -> None:
        decision = route(pickup("NOWHERE"), [warehouse("WH", BERLIN)], STRATEGY, DEFAULT_RATE_TABLE)

        assert decision.reason == "pickup store NOWHERE is not a known location"

    def test_capacity_below_the_limit_passes(self) -> None:
        decision = route(
            ship(),
            [warehouse("WH", BERLIN, daily_capacity=40, used_today=12)],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )

        assert decision.candidates[0].filters[4] == FilterVerdict(
            "capacity", True, "12 of 40 used today"
        )


class TestScores:
    def test_distance_is_great_circle_km_normalised_by_the_farthest(self) -> None:
        decision = route(
            ship(),
            [warehouse("WH-HAMBURG", HAMBURG), warehouse("WH-MUNICH", MUNICH)],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )
        hamburg_km = great_circle_km(HAMBURG, BERLIN)
        munich_km = great_circle_km(MUNICH, BERLIN)

        value, score = components_of(decision, "WH-HAMBURG")["distance"]
        assert value == pytest.approx(hamburg_km, abs=1e-3)
        assert score == pytest.approx(1 - hamburg_km / munich_km, abs=1e-4)
        assert components_of(decision, "WH-MUNICH")["distance"][1] == 0.0

    def test_distance_is_neutral_without_coordinates(self) -> None:
        decision = route(
            ship(ship_to_point=None),
            [warehouse("WH-A", HAMBURG), warehouse("WH-B", None)],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )

        assert components_of(decision, "WH-A")["distance"] == (-1.0, 0.5)
        assert components_of(decision, "WH-B")["distance"] == (-1.0, 0.5)

    def test_a_single_site_scores_full_on_distance_and_cost(self) -> None:
        decision = route(ship(), [warehouse("WH", MUNICH)], STRATEGY, DEFAULT_RATE_TABLE)

        assert components_of(decision, "WH")["distance"][1] == 1.0
        assert components_of(decision, "WH")["shipping_cost"][1] == 1.0

    def test_shipping_cost_is_the_cheapest_quote_min_max_normalised(self) -> None:
        sites = [
            warehouse("WH-BERLIN", BERLIN),
            warehouse("WH-HAMBURG", HAMBURG),
            warehouse("WH-PARIS", PARIS, country="FR"),
        ]
        decision = route(ship(), sites, STRATEGY, DEFAULT_RATE_TABLE)
        prices = {
            s.code: DEFAULT_RATE_TABLE.cheapest(
                distance_km=great_circle_km(s.point, BERLIN),  # type: ignore[arg-type]
                domestic=s.country == "DE",
                level="standard",
            )
            for s in sites
        }
        low = min(q.price for q in prices.values() if q)
        high = max(q.price for q in prices.values() if q)
        hamburg = prices["WH-HAMBURG"]
        assert hamburg is not None

        assert components_of(decision, "WH-BERLIN")["shipping_cost"][1] == 1.0
        assert components_of(decision, "WH-PARIS")["shipping_cost"][1] == 0.0
        assert components_of(decision, "WH-HAMBURG")["shipping_cost"] == (
            float(hamburg.price),
            round(float((high - hamburg.price) / (high - low)), 4),
        )

    def test_pickup_costs_nothing_to_ship(self) -> None:
        decision = route(
            pickup("STORE"),
            [store("STORE", MUNICH, capabilities=frozenset({"pickup"}))],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )

        assert components_of(decision, "STORE")["shipping_cost"] == (0.0, 1.0)
        assert decision.parts[0].quote is None

    def test_priority_and_parts(self) -> None:
        decision = route(
            ship(),
            [
                warehouse("WH-A", BERLIN, priority=250),
                warehouse("WH-B", BERLIN, priority=1000, available={LAMP: 1}),
            ],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )

        assert components_of(decision, "WH-A")["priority"] == (250, 0.25)
        assert components_of(decision, "WH-B")["priority"] == (1000, 1.0)
        assert components_of(decision, "WH-A")["parts"] == (1, 1.0)
        # Only the lamp in full: the mug and the rug would each come from elsewhere.
        assert components_of(decision, "WH-B")["parts"] == (3, 0.0)

    @pytest.mark.parametrize(
        ("available", "left", "score"),
        [
            ({LAMP: 1, MUG: 10, RUG: 10}, 0, 0.0),  # the lamp shelf would be empty
            ({LAMP: 2, MUG: 10, RUG: 10}, 1, 0.5),  # one lamp left for the one taken
            ({LAMP: 10, MUG: 4, RUG: 10}, 2, 0.5),  # two mugs left for the two taken
            ({LAMP: 10, MUG: 20, RUG: 10}, 9, 0.9),  # deep everywhere: 9 / (9 + 1)
        ],
    )
    def test_stock_depth_is_the_weakest_skus_units_left(
        self, available: dict[str, int], left: int, score: float
    ) -> None:
        decision = route(
            ship(), [warehouse("WH", BERLIN, available=available)], STRATEGY, DEFAULT_RATE_TABLE
        )

        assert components_of(decision, "WH")["stock_depth"] == (left, score)

    def test_weights_come_from_the_strategy(self) -> None:
        weights = Weights(distance=3.0, shipping_cost=0.0, priority=1.5, parts=0.5, stock_depth=2)
        decision = route(
            ship(), [warehouse("WH", BERLIN)], Strategy(1, weights=weights), DEFAULT_RATE_TABLE
        )

        assert {c.name: c.weight for c in decision.candidates[0].components} == {
            "distance": 3.0,
            "shipping_cost": 0.0,
            "priority": 1.5,
            "parts": 0.5,
            "stock_depth": 2,
        }


class TestPlans:
    def test_ties_go_to_higher_priority_then_code(self) -> None:
        no_priority_weight = Strategy(1, weights=Weights(priority=0.0))
        sites = [
            warehouse("WH-C", BERLIN, priority=100),
            warehouse("WH-B", BERLIN, priority=900),
            warehouse("WH-A", BERLIN, priority=900),
        ]

        decision = route(ship(), sites, no_priority_weight, DEFAULT_RATE_TABLE)

        assert [p.location_code for p in decision.parts] == ["WH-A"]
        assert "ahead of WH-B on the tie-break" in decision.explanation
        assert "WH-B scored the same" in decision.explanation

    def test_a_single_site_beats_a_better_scored_split(self) -> None:
        sites = [
            warehouse("WH-NEAR-1", BERLIN, priority=1000, available={LAMP: 5, MUG: 5}),
            warehouse("WH-NEAR-2", BERLIN, priority=1000, available={RUG: 5}),
            warehouse("WH-FAR", MUNICH, priority=0),
        ]

        decision = route(ship(), sites, STRATEGY, DEFAULT_RATE_TABLE)

        assert [p.location_code for p in decision.parts] == ["WH-FAR"]

    def test_the_fewest_parts_win_over_a_higher_scored_bigger_split(self) -> None:
        sites = [
            warehouse("WH-A", BERLIN, priority=1000, available={LAMP: 5}),
            warehouse("WH-B", BERLIN, priority=1000, available={MUG: 5}),
            warehouse("WH-C", BERLIN, priority=1000, available={RUG: 5}),
            warehouse("WH-FAR", MUNICH, priority=0, available={LAMP: 5, MUG: 5}),
        ]

        decision = route(ship(), sites, STRATEGY, DEFAULT_RATE_TABLE)

        assert sorted(p.location_code for p in decision.parts) == ["WH-C", "WH-FAR"]

    def test_among_splits_of_one_size_the_highest_summed_score_wins(self) -> None:
        sites = [
            warehouse("WH-LOW", MUNICH, priority=0, available={LAMP: 5, MUG: 5}),
            warehouse("WH-HIGH", BERLIN, priority=1000, available={LAMP: 5, MUG: 5}),
            warehouse("WH-RUG", HAMBURG, available={RUG: 5}),
        ]

        decision = route(ship(), sites, STRATEGY, DEFAULT_RATE_TABLE)

        assert sorted(p.location_code for p in decision.parts) == ["WH-HIGH", "WH-RUG"]

    def test_max_parts_of_one_never_splits(self) -> None:
        sites = [
            warehouse("WH-A", BERLIN, available={LAMP: 5, MUG: 5}),
            warehouse("WH-B", BERLIN, available={RUG: 5}),
        ]

        decision = route(ship(), sites, Strategy(1, max_parts=1), DEFAULT_RATE_TABLE)

        assert decision.outcome is Outcome.UNROUTABLE
        assert decision.reason == "no location can ship all 3 lines within 1 part"

    def test_pickup_never_splits(self) -> None:
        sites = [
            store("STORE", MUNICH, capabilities=frozenset({"pickup"}), available={LAMP: 1}),
            warehouse("WH", BERLIN),
        ]

        decision = route(pickup("STORE"), sites, STRATEGY, DEFAULT_RATE_TABLE)

        assert decision.outcome is Outcome.UNROUTABLE

    def test_each_part_gets_the_cheapest_quote_of_the_level(self) -> None:
        site = warehouse("WH", MUNICH)
        km = great_circle_km(MUNICH, BERLIN)

        for level in ("standard", "express"):
            decision = route(ship(service_level=level), [site], STRATEGY, DEFAULT_RATE_TABLE)
            assert decision.parts[0].quote == DEFAULT_RATE_TABLE.cheapest(
                distance_km=km, domestic=True, level=level
            )
            assert decision.parts[0].quote is not None
            assert decision.parts[0].quote.level == level

    def test_an_unknown_level_routes_without_a_quote(self) -> None:
        decision = route(
            ship(service_level="same_day"), [warehouse("WH", BERLIN)], STRATEGY, DEFAULT_RATE_TABLE
        )

        assert decision.outcome is Outcome.ROUTED
        assert decision.parts[0].quote is None
        assert components_of(decision, "WH")["shipping_cost"] == (-1.0, 0.5)

    def test_the_split_search_is_bounded_to_the_best_twelve(self) -> None:
        # Nineteen sites with the lamp and the mug rank above the only one with the rug, so
        # the best twelve never include it and no split is found within the pool.
        sites = [
            warehouse(f"WH-{i:02}", BERLIN, priority=1000 - i, available={LAMP: 1, MUG: 2})
            for i in range(19)
        ]
        sites.append(warehouse("WH-LAST", MUNICH, priority=0, available={RUG: 1}))

        decision = route(ship(), sites, STRATEGY, DEFAULT_RATE_TABLE)

        assert decision.outcome is Outcome.UNROUTABLE

    def test_backorder_holds_what_is_on_hand(self) -> None:
        lines = (Demand("L1", MUG, 3), Demand("L2", MUG, 2))
        decision = route(
            ship(lines=lines),
            [warehouse("WH", BERLIN, available={MUG: 4})],
            Strategy(1, max_parts=1, no_route_policy=NoRoutePolicy.BACKORDER),
            DEFAULT_RATE_TABLE,
        )

        assert plan_of(decision) == {"WH": (("L1", 3, False), ("L2", 1, False), ("L2", 1, True))}
        assert "4 of 5 units from stock on hand, the rest on backorder" in decision.explanation
        assert decision.parts[0].quote is not None

    def test_backorder_goes_to_the_best_site_among_those_that_only_lack_stock(self) -> None:
        sites = [
            warehouse("WH-BERLIN", BERLIN, available={}, active=False),
            warehouse("WH-HAMBURG", HAMBURG, available={}),
            warehouse("WH-MUNICH", MUNICH, available={}, priority=1000),
        ]

        decision = route(ship(), sites, BACKORDER, DEFAULT_RATE_TABLE)

        assert [p.location_code for p in decision.parts] == ["WH-HAMBURG"]

    def test_no_lines_is_unroutable(self) -> None:
        decision = route(ship(lines=()), [warehouse("WH", BERLIN)], BACKORDER, DEFAULT_RATE_TABLE)

        assert decision.outcome is Outcome.UNROUTABLE
        assert decision.reason == "the order has no lines to route"

    def test_a_line_without_quantity_is_refused(self) -> None:
        with pytest.raises(ValueError, match="quantity"):
            route(
                ship(lines=(Demand("L1", LAMP, 0),)),
                [warehouse("WH", BERLIN)],
                STRATEGY,
                DEFAULT_RATE_TABLE,
            )


class TestExplanation:
    def test_at_most_five_other_sites_then_a_count(self) -> None:
        sites = [warehouse("WH-BEST", BERLIN)] + [
            warehouse(f"WH-OFF-{i}", MUNICH, active=False) for i in range(8)
        ]

        explanation = route(ship(), sites, STRATEGY, DEFAULT_RATE_TABLE).explanation

        assert explanation.startswith("WH-BEST: only eligible location, all 3 lines in stock; ")
        assert explanation.count("rejected: inactive") == 5
        assert explanation.endswith("; and 3 more.")

    def test_a_lower_score_is_quoted_against_the_winners(self) -> None:
        decision = route(
            ship(),
            [warehouse("WH-BERLIN", BERLIN), warehouse("WH-HAMBURG", HAMBURG)],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )
        totals = {r.location_code: r.total for r in decision.candidates}

        assert (
            f"WH-HAMBURG scored lower ({totals['WH-HAMBURG']:.2f} vs {totals['WH-BERLIN']:.2f})"
            in decision.explanation
        )

    def test_a_single_line(self) -> None:
        decision = route(
            ship(lines=(Demand("L1", LAMP, 1),)),
            [warehouse("WH-A", BERLIN), warehouse("WH-B", MUNICH, available={})],
            STRATEGY,
            DEFAULT_RATE_TABLE,
        )

        assert decision.explanation == (
            "WH-A: only eligible location, the line in stock; "
            "WH-B rejected: the line is not in stock."
        )


# --- properties ---------------------------------------------------------------------------

SKUS = ("A", "B", "C", "D")


@st.composite
def sites_strategy(draw: st.DrawFn) -> list[Site]:
    count = draw(st.integers(1, 6))
    sites = []
    for i in range(count):
        kind = draw(st.sampled_from(["warehouse", "store"]))
        sites.append(
            Site(
                code=f"S{i}",
                type=kind,
                active=draw(st.booleans()),
                capabilities=frozenset(
                    draw(st.sets(st.sampled_from(["ship", "pickup", "ship_from_store"])))
                ),
                country=draw(st.sampled_from(["DE", "AT", "FR"])),
                point=draw(st.none() | st.builds(GeoPoint, st.floats(35, 60), st.floats(-10, 25))),
                priority=draw(st.integers(0, 1000)),
                daily_capacity=draw(st.none() | st.integers(0, 3)),
                used_today=draw(st.integers(0, 3)),
                available=draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 6))),
            )
        )
    return sites


@st.composite
def requests_strategy(draw: st.DrawFn, codes: list[str]) -> RoutingRequest:
    lines = tuple(
        Demand(f"L{i}", draw(st.sampled_from(SKUS)), draw(st.integers(1, 5)))
        for i in range(draw(st.integers(1, 5)))
    )
    method = draw(st.sampled_from(list(Method)))
    return RoutingRequest(
        lines=lines,
        method=method,
        ship_to_country=draw(st.sampled_from(["DE", "AT", "FR"])),
        ship_to_point=draw(st.none() | st.just(BERLIN)),
        pickup_location=draw(st.sampled_from(codes)) if method is Method.PICKUP else None,
        service_level=draw(st.sampled_from(["standard", "express"])),
        channel=draw(st.sampled_from(["", "web", "store"])),
        excluded=frozenset(draw(st.sets(st.sampled_from(codes)))),
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[RoutingRequest, list[Site], Strategy]:
    sites = draw(sites_strategy())
    request = draw(requests_strategy([s.code for s in sites]))
    strategy = Strategy(
        version=1,
        max_parts=draw(st.integers(1, 4)),
        no_route_policy=draw(st.sampled_from(list(NoRoutePolicy))),
        channel_policies={"store": draw(st.sampled_from(list(NoRoutePolicy)))},
        allowed_destinations={"S0": frozenset({"DE"})},
    )
    return request, sites, strategy


@given(cases())
@settings(max_examples=400, deadline=None)
def test_a_decision_never_promises_what_is_not_there(
    case: tuple[RoutingRequest, list[Site], Strategy],
) -> None:
    request, sites, strategy = case
    by_code = {s.code: s for s in sites}

    decision = route(request, sites, strategy, DEFAULT_RATE_TABLE)

    assert len(decision.candidates) == len(sites)
    assert all(tuple(v.name for v in r.filters) == FILTERS for r in decision.candidates)
    allocated: dict[str, int] = defaultdict(int)
    held: dict[tuple[str, str], int] = defaultdict(int)
    for part in decision.parts:
        site = by_code[part.location_code]
        assert site.active
        assert part.location_code not in request.excluded
        for allocation in part.allocations:
            allocated[allocation.line_id] += allocation.quantity
            if not allocation.backorder:
                held[part.location_code, allocation.sku] += allocation.quantity
    for (code, sku), quantity in held.items():
        assert quantity <= by_code[code].available.get(sku, 0)
    if decision.outcome is Outcome.UNROUTABLE:
        assert decision.parts == ()
        assert decision.reason
        return
    assert allocated == {line.line_id: line.quantity for line in request.lines}
    if decision.outcome is Outcome.BACKORDERED:
        assert len(decision.parts) == 1
        assert strategy.policy_for(request.channel) is NoRoutePolicy.BACKORDER
        return
    eligible = {r.location_code for r in decision.candidates if r.eligible}
    assert 1 <= len(decision.parts) <= strategy.max_parts
    assert {p.location_code for p in decision.parts} <= eligible
    assert not any(a.backorder for p in decision.parts for a in p.allocations)
    if request.method is Method.PICKUP:
        assert [p.location_code for p in decision.parts] == [request.pickup_location]


def test_a_stocked_site_is_the_site_with_that_stock_and_leaves_the_site_alone() -> None:
    site = warehouse("WH-A", BERLIN, priority=700, daily_capacity=10, processing_days=1)
    available, incoming = {"LAMP": 3}, {"BULB": 2}

    stocked = site.stocked(available, incoming)

    assert stocked == replace(site, available=available, incoming=incoming)
    assert stocked is not site
    assert site.available == dict(ALL_STOCK)
    with pytest.raises(AttributeError):
        stocked.priority = 1  # type: ignore[misc]


def test_reports_and_scores_made_the_quick_way_are_those_the_constructor_makes() -> None:
    figures = ((12.5, 6.5, 700.0, 1.0, 9.0), (0.5, 1.0, 0.7, 1.0, 0.9), (1.0, 1.0, 0.5, 2.0, 0.25))
    scored = Scored.of(*figures, 3.4)
    assert scored == Scored(*figures, 3.4)
    assert hash(scored) == hash(Scored(*figures, 3.4))
    verdicts = (FilterVerdict("active", True, "active"),)
    report = CandidateReport.of("WH-A", verdicts, True, False, 3.4, scored)
    made = CandidateReport("WH-A", verdicts, True, False, 3.4, Scored(*figures, 3.4))
    assert report == made
    assert hash(report) == hash(made)
    assert report.components == made.components
    with pytest.raises(AttributeError):
        report.total = 1.0  # type: ignore[misc]  # still frozen
    with pytest.raises(AttributeError):
        scored.total = 1.0  # type: ignore[misc]


_LATITUDES = st.floats(min_value=-90, max_value=90, allow_nan=False)
_LONGITUDES = st.floats(min_value=-180, max_value=180, allow_nan=False)


def _haversine_as_stored(a: GeoPoint, b: GeoPoint) -> float:
    """The formula the stored decisions' distances were worked out with, term for term."""
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    d_lat = lat_b - lat_a
    d_lon = math.radians(b.lon - a.lon)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@given(_LATITUDES, _LONGITUDES, _LATITUDES, _LONGITUDES)
def test_distances_to_one_point_are_the_great_circle_distances_to_the_last_bit(
    lat_a: float, lon_a: float, lat_b: float, lon_b: float
) -> None:
    # Scoring measures every candidate against the order's address with km_to; the scores
    # and the stored explanations must be the very floats the haversine formula gives.
    a, b = GeoPoint(lat_a, lon_a), GeoPoint(lat_b, lon_b)
    assert km_to(b)(a) == great_circle_km(a, b) == _haversine_as_stored(a, b)
