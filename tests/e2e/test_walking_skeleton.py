"""An order placed on order-capture travels through Kafka to inventory and back."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from libs.db.engine import make_engine
from tests.e2e.conftest import Stack
from tests.e2e.flows import (
    events_about,
    order_status,
    place_order,
    random_sku,
    set_stock,
    wait_for_status,
)
from tests.support.environment import database_url_for
from tests.support.polling import eventually


class TestWalkingSkeleton:
    async def test_order_is_confirmed_by_inventory_through_the_broker(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
    ) -> None:
        sku = random_sku("LAMP")
        await set_stock(http, urls, location="WH-BER", sku=sku, on_hand=5)
        correlation_id = f"corr-{uuid.uuid4()}"
        order = await place_order(
            http, urls, lines=[(sku, 2)], headers={"X-Correlation-ID": correlation_id}
        )
        assert order["status"] == "pending"

        await wait_for_status(http, urls, order["id"], "confirmed")
        stock = (await http.get(f"{urls['inventory']}/v1/stock/{sku}")).json()
        assert (stock["on_hand"], stock["reserved"], stock["available"]) == (5, 2, 3)
        saga = await eventually(
            lambda: http.get(f"{urls['orchestration']}/v1/sagas/{order['id']}"),
            until=lambda r: r.status_code == 200 and r.json()["state"] == "fulfilling",
            what="saga hands the order to a location",
        )
        steps = [s["name"] for s in saga.json()["steps"]]
        # Orchestration routes from its own view of inventory, which may not have the stock
        # set a moment ago yet: then it asks again (routing_retry), and only before routing.
        retries = steps[1 : steps.index("routed")]
        assert set(retries) <= {"routing_retry"}, steps
        main = [step for step in steps if step != "routing_retry"]
        assert main[:4] == ["order_placed", "routed", "reserving", "stock_reserved"]

        # The story can be followed across services by its correlation id.
        placed = [
            e
            for e in await events_about("oms.order.events", {order["id"]})
            if e.type == "oms.order.placed"
        ]
        (command,) = await events_about("oms.inventory.commands", {order["id"]})
        answer = await events_about("oms.inventory.events", {order["id"]})
        assert len(placed) == 1 and len(answer) == 1
        assert placed[0].source == "/oms/order-capture" and answer[0].source == "/oms/inventory"
        assert command.source == "/oms/orchestration"
        assert placed[0].correlationid == command.correlationid == correlation_id
        assert answer[0].correlationid == correlation_id
        assert (command.causationid, answer[0].causationid) == (placed[0].id, command.id)
        assert answer[0].type == "oms.inventory.reservation_confirmed"

    async def test_an_order_no_location_can_serve_waits_for_stock(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
    ) -> None:
        sku = random_sku("RARE")
        await set_stock(http, urls, location="WH-BER", sku=sku, on_hand=1)
        order = await place_order(http, urls, lines=[(sku, 3)])
        saga_url = f"{urls['orchestration']}/v1/sagas/{order['id']}"
        saga = await eventually(
            lambda: http.get(saga_url),
            until=lambda r: r.status_code == 200 and r.json()["state"] == "waiting_for_stock",
            what="the order to wait for stock",
        )
        assert saga.json()["hold_reason"].startswith("no location can serve it")
        assert await order_status(http, urls, order["id"]) == "pending"
        stock = (await http.get(f"{urls['inventory']}/v1/stock/{sku}")).json()
        assert stock["reserved"] == 0  # nothing reserved for an order that cannot be served
        decisions = await http.get(
            f"{urls['orchestration']}/v1/orders/{order['id']}/routing-decisions"
        )
        (decision,) = decisions.json()["items"]
        assert decision["outcome"] == "unroutable" and "WH-BER" in decision["explanation"]

    async def test_returns_projects_placed_orders_from_events(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
    ) -> None:
        order = await place_order(http, urls, lines=[(random_sku(), 1), (random_sku(), 2)])
        engine = make_engine(database_url_for("returns"), pool_size=1)
        try:

            async def projected_lines() -> int:
                async with engine.connect() as conn:
                    return int(
                        await conn.scalar(
                            text("SELECT count(*) FROM known_order_line WHERE order_id = :id"),
                            {"id": order["id"]},
                        )
                        or 0
                    )

            await eventually(projected_lines, until=lambda n: n == 2, what="returns' projection")
        finally:
            await engine.dispose()
