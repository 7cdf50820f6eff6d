"""InventoryClient reuses the list of locations for its time to live; stock never."""

from __future__ import annotations

import asyncio

import httpx

from services.orchestration.adapters.inventory_client import InventoryClient

LOCATION = {
    "code": "W1",
    "type": "warehouse",
    "active": True,
    "capabilities": ["ship"],
    "address": {"country": "DE", "latitude": 52.5, "longitude": 13.4},
}


def inventory(calls: list[str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/v1/locations":
            return httpx.Response(200, json={"items": [LOCATION], "next_cursor": None})
        item = {"sku": "S", "locations": [{"location_code": "W1", "available": 3}]}
        return httpx.Response(200, json={"items": [item]})

    return httpx.MockTransport(answer)


async def test_locations_are_fetched_once_within_their_time_to_live() -> None:
    calls: list[str] = []
    client = InventoryClient("http://inventory", transport=inventory(calls), locations_ttl_s=60)
    for _ in range(3):
        sites = await client.sites(["S"])
        assert [(s.code, s.available) for s in sites] == [("W1", {"S": 3})]
    assert calls.count("/v1/locations") == 1
    assert calls.count("/v1/availability") == 3


async def test_without_a_time_to_live_every_routing_asks_for_the_locations() -> None:
    calls: list[str] = []
    client = InventoryClient("http://inventory", transport=inventory(calls))
    await asyncio.gather(client.sites(["S"]), client.sites(["S"]))
    assert calls.count("/v1/locations") == 2
