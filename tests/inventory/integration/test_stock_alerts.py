"""Stock alerts on oms.inventory.events, keyed by SKU: low_stock when the network's available
units cross the threshold PUT /v1/skus/{sku}/policy sets, back_in_stock when they rise from 0."""

from __future__ import annotations

import httpx
import pytest

from libs.runtime import ServiceContainer
from tests.inventory.integration.conftest import (
    create_location,
    published,
    reserve,
    stock,
    unique,
)

pytestmark = pytest.mark.usefixtures("migrated_databases")


async def new_location(client: httpx.AsyncClient) -> str:
    code = unique("WH")
    await create_location(client, code)
    return code


async def stocked(client: httpx.AsyncClient, on_hand: int) -> tuple[str, str]:
    """A fresh location holding `on_hand` units of a fresh SKU."""
    code, sku = await new_location(client), unique("SKU")
    await stock(client, code, sku, on_hand)
    return code, sku


class TestStockAlerts:
    async def test_low_stock_is_announced_once_when_the_threshold_is_crossed(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku = await stocked(client, 5)
        r = await client.put(f"/v1/skus/{sku}/policy", json={"low_stock_threshold": 3})
        assert r.json() == {"sku": sku, "low_stock_threshold": 3}
        await reserve(client, (sku, 1, code))
        assert await published(container, sku, "low_stock") == []
        await reserve(client, (sku, 1, code))
        await reserve(client, (sku, 1, code))
        (low,) = await published(container, sku, "low_stock")
        assert {k: low["data"][k] for k in ("available", "threshold")} == {
            "available": 3,
            "threshold": 3,
        }

    async def test_back_in_stock_is_announced_when_stock_returns_from_zero(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku = await stocked(client, 2)  # the first count: 0 -> 2
        res = (await reserve(client, (sku, 2, code))).json()
        assert len(await published(container, sku, "back_in_stock")) == 1
        await client.post(f"/v1/reservations/{res['id']}/release", json={})
        events = await published(container, sku, "back_in_stock")
        assert [(e["subject"], e["data"]["available"]) for e in events] == [(sku, 2), (sku, 2)]

    async def test_stock_moving_at_an_inactive_location_crosses_no_line(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        """Network availability counts active locations only, so a change at an inactive one
        leaves it where it was: no back_in_stock, no low_stock."""
        _, sku = await stocked(client, 3)
        inactive = await new_location(client)
        await stock(client, inactive, sku, 9)
        r = await client.patch(
            f"/v1/locations/{inactive}", json={"active": False}, headers={"If-Match": '"1"'}
        )
        assert r.status_code == 200, r.text
        await client.put(f"/v1/skus/{sku}/policy", json={"low_stock_threshold": 5})
        alerts_before = await published(container, sku, "low_stock", "back_in_stock")
        for delta, reason in ((4, "found"), (-8, "damaged")):
            body = {"location_code": inactive, "sku": sku, "delta": delta, "reason": reason}
            assert (await client.post("/v1/stock/adjustments", json=body)).status_code == 201
        assert await published(container, sku, "low_stock", "back_in_stock") == alerts_before
