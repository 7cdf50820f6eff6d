"""Nothing waits forever: orchestration runs with short timeouts, and a location that never
accepts, or an inventory that never answers, is compensated by the overdue sweep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ServiceProcess, Stack
from tests.e2e.orchestration_flows import BERLIN, MUNICH, World
from tests.support.api import Api
from tests.support.polling import eventually

RESERVATION_TIMEOUT_S = 1.5
ACCEPTANCE_TIMEOUT_S = 5


@pytest.fixture
async def impatient(stack: Stack) -> AsyncIterator[ServiceProcess]:
    """Orchestration with timeouts of seconds instead of minutes and hours."""
    normal = stack["orchestration"]
    await normal.stop()
    short = ServiceProcess(
        "orchestration",
        env={
            "ORCHESTRATION_RESERVATION_TIMEOUT_S": str(RESERVATION_TIMEOUT_S),
            "ORCHESTRATION_ACCEPTANCE_TIMEOUT_S": str(ACCEPTANCE_TIMEOUT_S),
        },
        log_name="orchestration-impatient",
    )
    short.start()
    try:
        await short.wait_healthy()
        yield short
    finally:
        await short.stop()
        normal.start()
        await normal.wait_healthy()


class TestOverdueSweep:
    async def test_a_fulfilment_not_accepted_in_time_is_routed_elsewhere(
        self,
        impatient: ServiceProcess,
        http: httpx.AsyncClient,
        urls: dict[str, str],
        api: Api,
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        near = await w.location("WH-SLOW", BERLIN, stock={lamp: 3})
        far = await w.location("WH-KEEN", MUNICH, stock={lamp: 3})
        order = await w.place([(lamp, 2)])
        (first,) = await w.open_fulfillments(order["id"], 1)
        assert first["location_code"] == near

        async def rerouted() -> list[dict[str, Any]]:
            return await w.fulfillments(order["id"])

        fulfillments = await eventually(
            rerouted,
            until=lambda fs: any(f["location_code"] == far for f in fs),
            timeout=30,
            what="the order re-routed after the acceptance timeout",
        )
        second = next(f for f in fulfillments if f["location_code"] == far)
        accepted = await w.act(second["id"], "accept")  # before it times out in turn
        assert accepted.status_code == 200, accepted.content

        late = next(f for f in fulfillments if f["id"] == first["id"])
        assert late["status"] == "rejected"
        assert late["reason"] == "not accepted in time"
        await w.stock_settles(near, lamp, (3, 0))
        await w.stock_settles(far, lamp, (3, 2))
        saga = await w.saga_reaches(order["id"], "fulfilling")
        assert saga["excluded_locations"] == [near]
        assert "reservation_timed_out" not in [s["name"] for s in saga["steps"]]

    async def test_a_reservation_inventory_never_answers_is_released_and_the_order_waits(
        self,
        impatient: ServiceProcess,
        stack: Stack,
        http: httpx.AsyncClient,
        urls: dict[str, str],
        api: Api,
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        code = await w.location("WH-MUTE", BERLIN, stock={lamp: 10})
        inventory = stack["inventory"]
        await inventory.stop()
        # Its API still answers (so routing can plan), but nobody consumes its commands.
        deaf = ServiceProcess("inventory", log_name="inventory-deaf")
        deaf.start("api", "relay")
        try:
            await deaf.wait_healthy()
            order = await w.place([(lamp, 2)])
            saga = await w.saga_reaches(order["id"], "waiting_for_stock", timeout=40)
            # Nothing reserved: it waits. (Checked while inventory is still deaf: once it is
            # back, the stock it announces may route the order before a later look.)
            await w.order_reaches(order["id"], "pending")
        finally:
            await deaf.stop()
            inventory.start()
            await inventory.wait_healthy()

        assert "inventory did not answer in time" in saga["hold_reason"]
        steps = [s["name"] for s in saga["steps"]]
        assert steps.count("reservation_timed_out") == 4  # the first plan and 3 re-plans

        # Inventory, back, works through 4 reserve commands, each followed by its release:
        # each of those ends released. The stock it then announces wakes the waiting order,
        # which is routed again by itself and reserved: one reservation holds its 2 units.
        async def reservations() -> list[str]:
            r = await http.get(
                f"{urls['inventory']}/v1/reservations", params={"order_id": order["id"]}
            )
            assert r.status_code == 200, r.text
            return sorted(x["status"] for x in r.json()["items"])

        await eventually(
            reservations,
            until=lambda found: found == ["confirmed", *["released"] * 4],
            timeout=60,
            what="every late reservation made and released, and the order reserved anew",
        )
        await w.stock_settles(code, lamp, (10, 2))
        await w.order_reaches(order["id"], "confirmed")
