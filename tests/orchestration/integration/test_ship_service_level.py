"""A shipment goes at the order's own service level: the carrier selector never downgrades
an order to a level the customer did not ask for."""

from __future__ import annotations

import httpx

from libs.runtime import ServiceContainer
from services.orchestration.domain.fulfillment import Status
from tests.orchestration.integration.conftest import seed_order


async def test_an_order_at_a_level_no_carrier_serves_is_not_shipped_at_another(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    seeded = await seed_order(
        container, channel="web", location="WH-SL", status=Status.PACKED, service_level="same_day"
    )
    url = f"/v1/fulfillments/{seeded.fulfillment_id}/ship"

    chosen = await client.post(url, json={})
    named = await client.post(
        url, json={"carrier": "courier", "service": "same-day", "tracking_number": "SD000001"}
    )

    assert chosen.status_code == 422
    assert chosen.json()["code"] == "no_carrier_service"
    assert "same_day" in chosen.json()["detail"]
    assert named.status_code == 200, named.text


async def test_a_standard_order_ships_with_a_standard_service(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    seeded = await seed_order(container, channel="web", location="WH-SL", status=Status.PACKED)

    r = await client.post(f"/v1/fulfillments/{seeded.fulfillment_id}/ship", json={})

    assert r.status_code == 200, r.text
    assert (r.json()["shipment"]["carrier"], r.json()["shipment"]["service"]) in {
        ("dhl", "paket"),
        ("dpd", "classic"),
        ("ups", "standard"),
    }
