"""An order's whole journey through the status hub: inventory's and orchestration's events
move it confirmed -> shipped -> delivered, and the timeline tells each step with its source.

Orchestration's fulfilment and carrier flows are built later (their own issue); until then
this test writes orchestration's events into orchestration's own outbox, which its running
relay publishes to the real broker, exactly as orchestration's code will.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.clock import SystemClock
from libs.contracts import orchestration as orch
from libs.contracts.base import IntegrationEvent
from libs.db.engine import make_engine, make_session_factory
from libs.outbox.writer import OutboxWriter
from services.orchestration.adapters.tables import plumbing as orchestration_tables
from tests.e2e.conftest import Stack
from tests.e2e.flows import events_about, place_order, random_sku, set_stock, wait_for_status
from tests.support.environment import database_url_for


@pytest.fixture
async def orchestration_db() -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url_for("orchestration"), pool_size=1)
    yield engine
    await engine.dispose()


async def orchestration_says(engine: AsyncEngine, event: IntegrationEvent) -> None:
    writer = OutboxWriter(
        table=orchestration_tables.outbox, service="orchestration", clock=SystemClock()
    )
    async with make_session_factory(engine)() as session, session.begin():
        await writer.write(session, [event])


def lines_of(order: dict[str, Any]) -> list[orch.LineQuantity]:
    return [orch.LineQuantity(line_id=ln["id"], quantity=ln["quantity"]) for ln in order["lines"]]


class TestOrderJourney:
    async def test_confirmed_shipped_delivered_with_a_timeline_of_sources(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        urls: dict[str, str],
        orchestration_db: AsyncEngine,
    ) -> None:
        sku = random_sku("CHAIR")
        await set_stock(http, urls, location="WH-BER", sku=sku, on_hand=10)
        order = await place_order(http, urls, lines=[(sku, 2)])
        await wait_for_status(http, urls, order["id"], "confirmed")

        now = datetime.now(UTC)
        shipment_id = f"SHP-{uuid.uuid4().hex[:8]}"
        await orchestration_says(
            orchestration_db,
            orch.FulfillmentCreated(
                order_id=order["id"],
                fulfillment_id=f"FO-{uuid.uuid4().hex[:8]}",
                location_code="WH-BER",
                lines=lines_of(order),
                created_at=now,
            ),
        )
        await orchestration_says(
            orchestration_db,
            orch.ShipmentDispatched(
                order_id=order["id"],
                shipment_id=shipment_id,
                fulfillment_id="FO-1",
                carrier="dhl",
                tracking_number="00340434161094042557",
                lines=lines_of(order),
                shipped_at=now,
            ),
        )
        await wait_for_status(http, urls, order["id"], "shipped")
        view = await http.get(
            f"{urls['order_capture']}/v1/self-service/orders/{order['order_number']}",
            params={"email": "grace@example.com"},
        )
        assert view.json()["tracking"][0]["tracking_number"] == "00340434161094042557"

        await orchestration_says(
            orchestration_db,
            orch.ShipmentDelivered(
                order_id=order["id"],
                shipment_id=shipment_id,
                lines=lines_of(order),
                delivered_at=datetime.now(UTC),
            ),
        )
        await wait_for_status(http, urls, order["id"], "delivered")

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
        assert steps == [
            ("placed", "order-capture", "pending"),
            ("stock_reserved", "inventory", None),
            ("status_changed", "inventory", "confirmed"),
            ("allocated", "orchestration", None),
            ("shipped", "orchestration", None),
            ("status_changed", "orchestration", "shipped"),
            ("delivered", "orchestration", None),
            ("status_changed", "orchestration", "delivered"),
        ]
        assert all(e["at"] and e["reason"] for e in timeline)

        # Subscribers see every status on Kafka, numbered without gaps.
        published = await events_about("oms.order.events", {order["id"]})
        assert [e.type for e in published] == [
            "oms.order.placed",
            "oms.order.status_changed",
            "oms.order.status_changed",
            "oms.order.status_changed",
        ]
        assert [e.data["sequence"] for e in published] == [1, 2, 3, 4]
        assert [e.data.get("status") for e in published[1:]] == [
            "confirmed",
            "shipped",
            "delivered",
        ]
