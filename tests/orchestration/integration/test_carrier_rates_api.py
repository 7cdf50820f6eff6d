"""The carrier rate table as configuration with an API: versioned, validated, and what
shipping chooses from once it is put."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from libs.runtime import ServiceContainer
from services.orchestration.domain.carriers import DEFAULT_RATE_TABLE
from services.orchestration.domain.fulfillment import Status
from tests.orchestration.integration.conftest import seed_order

COURIER = {
    "carrier": "courier",
    "service": "city",
    "level": "same_day",
    "base_price": "19.00",
    "per_100km": "5.00",
    "international_surcharge": "0.00",
    "transit_days": 0,
    "international_transit_days": 0,
}


@pytest.fixture
async def restored(client: httpx.AsyncClient) -> AsyncIterator[None]:
    """The built-in table again after the test: other tests price with it."""
    yield
    r = await client.put("/v1/carrier-rates", json=DEFAULT_RATE_TABLE.to_dict())
    assert r.status_code == 200, r.text


def with_courier() -> dict[str, Any]:
    table = DEFAULT_RATE_TABLE.to_dict()
    return {**table, "services": [*table["services"], COURIER]}


async def test_a_new_table_is_a_new_version_that_shipping_chooses_from(
    container: ServiceContainer, client: httpx.AsyncClient, restored: None
) -> None:
    before = await client.get("/v1/carrier-rates")
    assert before.status_code == 200
    assert "same_day" not in before.json()["levels"]

    put = await client.put(
        "/v1/carrier-rates", json=with_courier(), headers={"If-Match": before.headers["ETag"]}
    )

    assert put.status_code == 200, put.text
    assert put.json()["version"] == before.json()["version"] + 1
    assert put.json()["levels"] == ["standard", "express", "same_day"]
    seeded = await seed_order(
        container, channel="web", location="WH-CR", status=Status.PACKED, service_level="same_day"
    )
    shipped = await client.post(f"/v1/fulfillments/{seeded.fulfillment_id}/ship", json={})
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["shipment"]["carrier"], shipped.json()["shipment"]["service"]) == (
        "courier",
        "city",
    )


async def test_a_bad_or_stale_table_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, restored: None
) -> None:
    before = await client.get("/v1/carrier-rates")
    twice = with_courier()
    twice["services"].append(COURIER)

    duplicate = await client.put("/v1/carrier-rates", json=twice)
    stale = await client.put("/v1/carrier-rates", json=with_courier(), headers={"If-Match": '"0"'})
    floats = await client.put(
        "/v1/carrier-rates",
        json={**with_courier(), "services": [{**COURIER, "base_price": -1}]},
    )

    assert (duplicate.status_code, duplicate.json()["code"]) == (422, "invalid_rate_table")
    assert stale.status_code == 412
    assert floats.status_code == 422
    after = await client.get("/v1/carrier-rates")
    assert after.json()["version"] == before.json()["version"]
