"""The stored routing decision: stored compactly (candidates in rows) for speed, it must read
back as exactly the JSON a generic walk of the decision gives, whatever the decision."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from services.orchestration.domain import carriers
from services.orchestration.domain.routing.engine import route
from services.orchestration.domain.routing.model import (
    Demand,
    GeoPoint,
    Method,
    NoRoutePolicy,
    RoutingRequest,
    Site,
    Strategy,
)
from services.orchestration.domain.routing.stored import (
    jsonable,
    readable_candidates,
    stored_decision,
)

SKUS = ["LAMP", "SHADE", "BULB", "CORD"]
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday


def network(seed: int) -> tuple[RoutingRequest, list[Site]]:
    """A random network: some sites inactive, some stores, some full, some empty, some far."""
    rng = random.Random(seed)
    sites = [
        Site(
            code=f"L{n:02d}",
            type=rng.choice(["warehouse", "store", "3pl"]),
            active=rng.random() > 0.1,
            capabilities=frozenset(rng.sample(["ship", "pickup", "ship_from_store"], 2)),
            country=rng.choice(["DE", "DE", "AT", "FR"]),
            point=GeoPoint(47 + rng.random() * 6, 6 + rng.random() * 8) if n % 7 else None,
            priority=rng.randint(0, 1000),
            daily_capacity=rng.choice([None, None, 5]),
            used_today=rng.randint(0, 6),
            available={sku: rng.choice([0, 1, 3, 50]) for sku in rng.sample(SKUS, 3)},
            incoming={sku: rng.choice([0, 5]) for sku in rng.sample(SKUS, 1)},
            processing_days=n % 4,
        )
        for n in range(rng.randint(1, 30))
    ]
    pickup = rng.random() < 0.2
    request = RoutingRequest(
        lines=tuple(
            Demand(str(i), sku, rng.randint(1, 4))
            for i, sku in enumerate(rng.sample(SKUS, rng.randint(1, 3)), start=1)
        ),
        method=Method.PICKUP if pickup else Method.SHIP,
        ship_to_country="DE",
        ship_to_point=GeoPoint(52.5, 13.4),
        pickup_location=sites[0].code if pickup else None,
        excluded=frozenset({sites[-1].code}) if rng.random() < 0.2 else frozenset(),
        # Every third network has a delivery date to meet, some of its sites too slow for it.
        requested_delivery_date=(
            NOW.date() + timedelta(days=rng.randint(1, 8)) if seed % 3 == 0 else None
        ),
    )
    return request, sites


@pytest.mark.parametrize("seed", range(60))
def test_the_stored_decision_is_the_decision_as_json(seed: int) -> None:
    request, sites = network(seed)
    strategy = Strategy(
        version=3,
        max_parts=2,
        allowed_destinations={sites[0].code: frozenset({"AT"})},
        no_route_policy=NoRoutePolicy.BACKORDER if seed % 2 else NoRoutePolicy.REJECT,
    )
    decision = route(request, sites, strategy, carriers.DEFAULT_RATE_TABLE, now=NOW)
    # Through JSON, as the database stores it.
    body = orjson.loads(orjson.dumps(stored_decision(request, decision, passed_over=seed)))
    read = {**body, "candidates": readable_candidates(body)}
    assert read == {
        **jsonable(decision),
        "candidates": [
            {
                "location_code": report.location_code,
                "filters": jsonable(report.filters),
                "eligible": report.eligible,
                "covers_all": report.covers_all,
                "components": jsonable(report.components),
                "total": report.total,
            }
            for report in decision.candidates
        ],
        "request": jsonable(request),
        "passed_over": {
            "locations": seed,
            "reason": "holds none of the order's SKUs and expects none",
        },
    }


def test_a_decision_stored_in_the_older_form_reads_as_it_was_stored() -> None:
    older = [
        {
            "location_code": "WH-1",
            "filters": [{"name": "active", "passed": True, "reason": "active"}],
            "eligible": True,
            "covers_all": True,
            "components": [
                {"name": "distance", "value": 3.0, "score": 1.0, "weight": 1.0, "contribution": 1.0}
            ],
            "total": 1.0,
        }
    ]
    assert readable_candidates({"candidates": older}) == older
