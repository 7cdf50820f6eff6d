"""The events another service can keep its own view of inventory with, each written in the
transaction of the API call that made the change: location_changed for every created or
changed location, stock_changed for every change of a location's available units, and
incoming_changed for every change of what is expected at a location."""

from __future__ import annotations

from typing import Any

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

DAY_1, DAY_2 = "2030-12-01T08:00:00Z", "2030-12-02T08:00:00Z"


def fields(event: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(event["data"][n] for n in names)


async def inbound(
    client: httpx.AsyncClient, code: str, sku: str, quantity: int, expected_at: str
) -> str:
    r = await client.post(
        "/v1/inbound",
        json={"location_code": code, "sku": sku, "quantity": quantity, "expected_at": expected_at},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


class TestLocationChanged:
    async def test_a_new_location_is_announced_whole(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code = unique("WH")
        address = {
            "line1": "Lagerstraße 1",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
            "latitude": 52.52,
            "longitude": 13.405,
        }
        await create_location(
            client,
            code,
            type="store",
            address=address,
            capabilities=["ship_from_store", "pickup"],
            priority=10,
            daily_order_capacity=300,
            processing_days=1,
            cutoff_time="15:00",
            timezone="Europe/Berlin",
        )
        (event,) = await published(container, code, "location_changed")
        assert (event["subject"], event["type"]) == (code, "oms.inventory.location_changed")
        assert event["data"] == {
            "code": code,
            "change": "created",
            "changed_fields": [],
            "name": f"Location {code}",
            "type": "store",
            "active": True,
            "capabilities": ["pickup", "ship_from_store"],
            "address": address | {"line2": None, "region": None},
            "priority": 10,
            "daily_order_capacity": 300,
            "processing_days": 1,
            "cutoff_time": "15:00:00",
            "timezone": "Europe/Berlin",
            "location_version": 1,
        }

    async def test_every_change_is_announced_and_no_change_is_not(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code = unique("WH")
        await create_location(client, code)

        async def patch(version: int, **changes: Any) -> None:
            r = await client.patch(
                f"/v1/locations/{code}", json=changes, headers={"If-Match": f'"{version}"'}
            )
            assert r.status_code == 200, r.text

        await patch(1, active=False)
        await patch(2, priority=5, processing_days=2, active=False)
        await patch(3, priority=5)  # the same values: nothing changed
        await patch(3, active=True)
        _, *updates = await published(container, code, "location_changed")
        assert [
            fields(e, "change", "changed_fields", "active", "priority", "location_version")
            for e in updates
        ] == [
            ("updated", ["active"], False, 0, 2),
            ("updated", ["priority", "processing_days"], False, 5, 3),
            ("updated", ["active"], True, 5, 4),
        ]


class TestStockChanged:
    async def test_every_change_of_a_rows_units_is_announced_with_the_new_ones(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku = unique("WH"), unique("SKU")
        await create_location(client, code)
        await stock(client, code, sku, 10)
        r = await client.put(
            f"/v1/locations/{code}/stock/{sku}", json={"on_hand": 10, "safety_stock": 2}
        )
        assert r.status_code == 200, r.text
        adjustment = {"location_code": code, "sku": sku, "delta": 3, "reason": "found"}
        assert (await client.post("/v1/stock/adjustments", json=adjustment)).status_code == 201
        res = (await reserve(client, (sku, 4, code))).json()
        url = f"/v1/reservations/{res['id']}"
        release = {"lines": [{"sku": sku, "quantity": 1}]}
        assert (await client.post(f"{url}/release", json=release)).status_code == 200
        commit = {"lines": [{"sku": sku, "quantity": 2}]}
        assert (await client.post(f"{url}/commit", json=commit)).status_code == 200
        delivery = await inbound(client, code, sku, 5, DAY_1)
        received = await client.post(f"/v1/inbound/{delivery}/receive", json={})
        assert received.status_code == 200, received.text

        events = await published(container, sku, "stock_changed")
        names = ("on_hand", "reserved", "safety_stock", "available", "network_available", "reasons")
        assert [fields(e, *names) for e in events] == [
            (10, 0, 0, 10, 10, ["counted"]),
            (10, 0, 2, 8, 8, ["safety_stock"]),
            (13, 0, 2, 11, 11, ["found"]),
            (13, 4, 2, 7, 7, ["reserved"]),
            (13, 3, 2, 8, 8, ["released"]),
            (11, 1, 2, 8, 8, ["committed"]),
            (16, 1, 2, 13, 13, ["inbound_received"]),
        ]
        assert {e["data"]["location_code"] for e in events} == {code}

    async def test_the_network_counts_every_active_location(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        sku = unique("SKU")
        first, second, closed = unique("WH"), unique("WH"), unique("WH")
        for code in (first, second, closed):
            await create_location(client, code)
        await stock(client, closed, sku, 50)
        r = await client.patch(
            f"/v1/locations/{closed}", json={"active": False}, headers={"If-Match": '"1"'}
        )
        assert r.status_code == 200, r.text
        await stock(client, first, sku, 4)
        await stock(client, second, sku, 6)
        assert (await reserve(client, (sku, 3, first), (sku, 1, second))).status_code == 201
        seen = [
            fields(e, "location_code", "available", "network_available")
            for e in await published(container, sku, "stock_changed")
        ]
        assert seen[:3] == [(closed, 50, 50), (first, 4, 4), (second, 6, 10)]
        # One transaction, two rows: both events carry the network as it left it.
        assert sorted(seen[3:]) == sorted([(first, 1, 6), (second, 5, 6)])


class TestIncomingChanged:
    async def test_announced_received_and_cancelled_deliveries_move_the_total(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku = unique("WH"), unique("SKU")
        await create_location(client, code)
        later = await inbound(client, code, sku, 10, DAY_2)
        sooner = await inbound(client, code, sku, 5, DAY_1)
        part = await client.post(f"/v1/inbound/{later}/receive", json={"quantity": 4})
        assert part.status_code == 200, part.text
        assert (await client.post(f"/v1/inbound/{sooner}/cancel")).status_code == 200
        assert (await client.post(f"/v1/inbound/{sooner}/cancel")).status_code == 200  # again
        assert (await client.post(f"/v1/inbound/{later}/receive", json={})).status_code == 200

        events = await published(container, sku, "incoming_changed")
        assert all(e["subject"] == sku and e["data"]["location_code"] == code for e in events)
        assert [fields(e, "incoming", "inbound_id", "reason") for e in events] == [
            (10, later, "inbound_created"),
            (15, sooner, "inbound_created"),
            (11, later, "inbound_received"),
            (6, sooner, "inbound_cancelled"),
            (0, later, "inbound_received"),
        ]
        assert [
            [
                (d["inbound_id"], d["quantity"], d["expected_at"][:10])
                for d in e["data"]["deliveries"]
            ]
            for e in events
        ] == [
            [(later, 10, "2030-12-02")],
            [(sooner, 5, "2030-12-01"), (later, 10, "2030-12-02")],
            [(sooner, 5, "2030-12-01"), (later, 6, "2030-12-02")],
            [(later, 6, "2030-12-02")],
            [],
        ]
