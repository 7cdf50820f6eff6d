"""An order's whole journey through the status hub: inventory's and orchestration's events
move it confirmed -> shipped -> delivered -> completed, and the timeline tells each step with
its source. The location's system drives the fulfilment through orchestration's API."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.flows import events_about, wait_for_status
from tests.e2e.orchestration_flows import BERLIN, World
from tests.support.api import Api
from tests.support.polling import eventually


class TestOrderJourney:
    async def test_confirmed_shipped_delivered_with_a_timeline_of_sources(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        sku = w.sku("CHAIR")
        await w.location("WH-BER", BERLIN, stock={sku: 10})
        order = await w.place([(sku, 2)])
        (f,) = await w.open_fulfillments(order["id"], 1)
        await wait_for_status(http, urls, order["id"], "confirmed")
        for action in ("accept", "pick", "pack"):
            assert (await w.act(f["id"], action)).status_code == 200
        shipped = await w.act(
            f["id"], "ship", {"carrier": "dhl", "tracking_number": "00340434161094042557"}
        )
        assert shipped.status_code == 200, shipped.content
        await wait_for_status(http, urls, order["id"], "shipped")
        view = await http.get(
            f"{urls['order_capture']}/v1/self-service/orders/{order['order_number']}",
            params={"email": "grace@example.com"},
        )
        assert view.json()["tracking"][0]["tracking_number"] == "00340434161094042557"

        assert (await w.act(f["id"], "deliver")).status_code == 200
        await wait_for_status(http, urls, order["id"], "completed")

        final = (await http.get(f"{urls['order_capture']}/v1/orders/{order['id']}")).json()
        assert final["lines"][0]["quantities"] == {
            "ordered": 2,
            "reserved": 0,
            "backordered": 0,
            "allocated": 0,
            "shipped": 2,
            "delivered": 2,
            "cancelled": 0,
            "returned": 0,
            "refunded": 0,
        }
        timeline = (
            await http.get(f"{urls['order_capture']}/v1/orders/{order['id']}/timeline")
        ).json()["items"]
        steps = [(e["kind"], e["source"], e["status"]) for e in timeline]
        assert steps[:8] == [
            ("placed", "order-capture", "pending"),
            ("stock_reserved", "inventory", None),
            ("status_changed", "inventory", "confirmed"),
            ("allocated", "orchestration", None),
            ("shipped", "orchestration", None),
            ("status_changed", "orchestration", "shipped"),
            ("delivered", "orchestration", None),
            ("status_changed", "orchestration", "delivered"),
        ]
        assert ("status_changed", "orchestration", "completed") in steps[8:]
        assert all(e["at"] and e["reason"] for e in timeline)

        # Subscribers see every status on Kafka, numbered without gaps.
        # The relay publishes a moment after the change commits: wait for the last status.
        published = await eventually(
            lambda: events_about("oms.order.events", {order["id"]}),
            until=lambda events: bool(events) and events[-1].data.get("status") == "completed",
            what="the completed status on oms.order.events",
        )
        assert [e.type for e in published] == ["oms.order.placed"] + [
            "oms.order.status_changed"
        ] * (len(published) - 1)
        assert [e.data["sequence"] for e in published] == list(range(1, len(published) + 1))
        assert [e.data.get("status") for e in published[1:]] == [
            "confirmed",
            "shipped",
            "delivered",
            "completed",
        ]
