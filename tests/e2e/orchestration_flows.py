"""Steps the orchestration end-to-end tests share: locations with stock, orders, sagas,
fulfilment actions, and reading every service's view of the outcome."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData

from libs.clock import SystemClock
from libs.contracts.base import IntegrationEvent
from libs.outbox.tables import outbox_table
from libs.outbox.writer import OutboxWriter
from tests.e2e.flows import random_sku
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.orders import order_body
from tests.support.polling import eventually

BERLIN = (52.52, 13.405)
POTSDAM = (52.39, 13.06)
HAMBURG = (53.55, 9.99)
MUNICH = (48.14, 11.58)
CUSTOMER_IN_BERLIN = (52.517, 13.3889)
OUTBOX = outbox_table(MetaData())  # only to build envelopes the way every relay does


class World:
    """One test's locations, SKUs and orders on the running stack."""

    def __init__(self, http: httpx.AsyncClient, urls: dict[str, str]) -> None:
        self.http = http
        self.urls = urls
        self.tag = uuid.uuid4().hex[:6].upper()

    def code(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def sku(self, name: str) -> str:
        return random_sku(name)

    async def location(
        self,
        name: str,
        at: tuple[float, float],
        *,
        type: str = "warehouse",
        capabilities: tuple[str, ...] = ("ship",),
        priority: int = 0,
        stock: dict[str, int] | None = None,
    ) -> str:
        code = self.code(name)
        r = await self.http.post(
            f"{self.urls['inventory']}/v1/locations",
            json={
                "code": code,
                "name": name,
                "type": type,
                "address": {
                    "line1": "Weg 1",
                    "city": name,
                    "postal_code": "10115",
                    "country": "DE",
                    "latitude": at[0],
                    "longitude": at[1],
                },
                "capabilities": list(capabilities),
                "priority": priority,
            },
        )
        assert r.status_code == 201, r.text
        for sku, n in (stock or {}).items():
            r = await self.http.put(
                f"{self.urls['inventory']}/v1/locations/{code}/stock/{sku}", json={"on_hand": n}
            )
            assert r.status_code == 200, r.text
        return code

    async def place(
        self,
        lines: list[tuple[str, int]],
        *,
        token: str = "tok_test_4242",
        delivery: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = order_body(
            [(sku, qty, "10.00") for sku, qty in lines],
            channel_order_ref=f"E2E-{uuid.uuid4().hex[:12]}",
            customer={"email": "grace@example.com", "name": "Grace Hopper"},
        )
        body["payment"]["token"] = token
        if delivery:
            body["delivery"] = delivery
        r = await self.http.post(
            f"{self.urls['order_capture']}/v1/orders",
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 201, r.text
        order: dict[str, Any] = r.json()
        return order

    async def saga(self, order_id: str) -> dict[str, Any]:
        r = await self.http.get(f"{self.urls['orchestration']}/v1/sagas/{order_id}")
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else {"state": None}

    async def saga_reaches(self, order_id: str, state: str, timeout: float = 20) -> dict[str, Any]:
        saga: dict[str, Any] = await eventually(
            lambda: self.saga(order_id),
            until=lambda s: s["state"] == state,
            timeout=timeout,
            what=f"saga {order_id} {state}",
        )
        return saga

    async def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(
            f"{self.urls['orchestration']}/v1/fulfillments", params={"order_id": order_id}
        )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def open_fulfillments(self, order_id: str, count: int) -> list[dict[str, Any]]:
        """Wait until the order has `count` fulfilment orders in status created."""
        found: list[dict[str, Any]] = await eventually(
            lambda: self.fulfillments(order_id),
            until=lambda fs: len([f for f in fs if f["status"] == "created"]) == count,
            timeout=20,
            what=f"{count} fulfilment order(s) for {order_id}",
        )
        return [f for f in found if f["status"] == "created"]

    async def act(
        self, fulfillment_id: str, action: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self.http.post(
            f"{self.urls['orchestration']}/v1/fulfillments/{fulfillment_id}/{action}",
            json=body,
        )

    async def ship_all_the_way(self, fulfillment_id: str) -> dict[str, Any]:
        for action in ("accept", "pick", "pack", "ship", "deliver"):
            r = await self.act(fulfillment_id, action)
            assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def decisions(self, order_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(
            f"{self.urls['orchestration']}/v1/orders/{order_id}/routing-decisions"
        )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def payments(self, order_id: str) -> list[tuple[str, str, str]]:
        r = await self.http.get(f"{self.urls['orchestration']}/v1/orders/{order_id}/payments")
        assert r.status_code == 200, r.text
        return [(p["kind"], p["status"], p["amount"]) for p in r.json()["items"]]

    async def stock_at(self, code: str, sku: str) -> tuple[int, int]:
        """(on hand, reserved) of the SKU at one location."""
        r = await self.http.get(f"{self.urls['inventory']}/v1/stock/{sku}")
        assert r.status_code == 200, r.text
        for loc in r.json()["locations"]:
            if loc["location_code"] == code:
                return loc["on_hand"], loc["reserved"]
        raise AssertionError(f"no stock of {sku} at {code}")

    async def order(self, order_id: str) -> dict[str, Any]:
        r = await self.http.get(f"{self.urls['order_capture']}/v1/orders/{order_id}")
        assert r.status_code == 200, r.text
        order: dict[str, Any] = r.json()
        return order

    async def order_reaches(self, order_id: str, status: str) -> dict[str, Any]:
        order: dict[str, Any] = await eventually(
            lambda: self.order(order_id),
            until=lambda o: o["status"] == status,
            timeout=20,
            what=f"order {order_id} {status}",
        )
        return order

    async def stock_settles(self, code: str, sku: str, expected: tuple[int, int]) -> None:
        await eventually(
            lambda: self.stock_at(code, sku),
            until=lambda s: s == expected,
            timeout=20,
            what=f"{sku} at {code} = {expected}",
        )


async def publish_as(service: str, *events: IntegrationEvent) -> None:
    """Put events on the broker exactly as that service's outbox relay would."""
    writer = OutboxWriter(table=OUTBOX, service=service, clock=SystemClock())
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                TOPIC_PREFIX + event.topic,
                key=event.partition_key.encode(),
                value=writer.envelope(event).to_bytes(),
            )
    finally:
        await producer.stop()
