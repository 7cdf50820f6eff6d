"""Steps the orchestration end-to-end tests share: locations with stock, orders, sagas,
fulfilment actions, and reading every service's view of the outcome."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData, text

import clients.inventory.models as inv
import clients.orchestration.models as orch
import clients.orchestration.types as orch_types
import clients.order_capture.models as oc
from clients.inventory.api.locations import locations_create
from clients.inventory.api.stock import stock_get, stock_set_level
from clients.orchestration.api.fulfillments import (
    fulfillments_accept,
    fulfillments_collect,
    fulfillments_deliver,
    fulfillments_list_fulfillments,
    fulfillments_pack,
    fulfillments_pick,
    fulfillments_ready_for_pickup,
    fulfillments_reject,
    fulfillments_ship,
)
from clients.orchestration.api.sagas import (
    sagas_get_saga,
    sagas_hold,
    sagas_list_holds,
    sagas_new_payment_method,
    sagas_payments,
    sagas_release,
    sagas_routing_decisions,
)
from clients.order_capture.api.orders import orders_create, orders_get
from libs.clock import SystemClock
from libs.contracts.base import IntegrationEvent
from libs.db.engine import make_engine
from libs.messaging.topics import ORCHESTRATION_EVENTS
from libs.outbox.tables import outbox_table
from libs.outbox.writer import OutboxWriter
from tests.e2e.flows import events_about, random_sku
from tests.support.api import Answer, Api, as_json, parsed
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX, database_url_for
from tests.support.orders import order_body
from tests.support.polling import eventually

BERLIN = (52.52, 13.405)
POTSDAM = (52.39, 13.06)
HAMBURG = (53.55, 9.99)
MUNICH = (48.14, 11.58)
CUSTOMER_IN_BERLIN = (52.517, 13.3889)
OUTBOX = outbox_table(MetaData())  # only to build envelopes the way every relay does


async def query(service: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read below the services' APIs, for what no API shows (a projection)."""
    engine = make_engine(database_url_for(service), pool_size=1)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]
    finally:
        await engine.dispose()


class World:
    """One test's locations, SKUs and orders on the running stack, driven through the generated
    clients (`api`); `http` is left for what a test checks below the contract (raw bodies,
    headers)."""

    def __init__(self, http: httpx.AsyncClient, urls: dict[str, str], api: Api) -> None:
        self.http = http
        self.urls = urls
        self.api = api
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
        processing_days: int = 0,
        stock: dict[str, int] | None = None,
    ) -> str:
        code = self.code(name)
        body = inv.LocationCreate.from_dict(
            {
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
                "processing_days": processing_days,
            }
        )
        created = await locations_create.asyncio_detailed(
            client=self.api.inventory, body=body, idempotency_key=str(uuid.uuid4())
        )
        assert parsed(created, 201, inv.LocationRead).code == code
        for sku, n in (stock or {}).items():
            level = await stock_set_level.asyncio_detailed(
                code, sku, client=self.api.inventory, body=inv.StockLevelUpdate(on_hand=n)
            )
            parsed(level, 200, inv.StockRead)
        if stock:
            await self.routable(code, stock)
        return code

    async def routable(self, code: str, stock: dict[str, int]) -> None:
        """Wait until orchestration's routing view holds this stock at the location.

        The view is projected from inventory's events, which travel on their own topic: an
        order placed right after the stock was set can be routed before the view has it (the
        order then goes elsewhere or waits). A test that means to compare locations lets the
        view catch up first; what happens while it lags is tested on purpose elsewhere."""

        async def held() -> dict[str, int]:
            rows = await query(
                "orchestration",
                "SELECT sku, available FROM routing_stock"
                " WHERE location_code = :code AND sku = ANY(CAST(:skus AS text[]))",
                code=code,
                skus=sorted(stock),
            )
            return {sku: available for sku, available in rows if available}

        expected = {sku: n for sku, n in stock.items() if n}  # the view may omit a zero
        await eventually(held, until=lambda h: h == expected, what=f"the routing view of {code}")

    async def place(
        self,
        lines: list[tuple[str, int]],
        *,
        token: str = "tok_test_4242",
        delivery: dict[str, Any] | None = None,
        email: str = "grace@example.com",
        address: dict[str, Any] | None = None,
        requested_delivery_date: str | None = None,
        channel: str = "web",
    ) -> dict[str, Any]:
        """An order of these lines (10.00 a unit) on `channel`; `address` changes fields of the
        shipping address."""
        body = order_body(
            [(sku, qty, "10.00") for sku, qty in lines],
            channel_order_ref=f"E2E-{uuid.uuid4().hex[:12]}",
            customer={"email": email, "name": "Grace Hopper"},
        )
        if requested_delivery_date is not None:
            body["requested_delivery_date"] = requested_delivery_date
        body["channel"] = channel
        body["payment"]["token"] = token
        body["shipping_address"].update(address or {})
        if delivery:
            body["delivery"] = delivery
        created = await orders_create.asyncio_detailed(
            client=self.api.order_capture,
            body=oc.OrderCreate.from_dict(body),
            idempotency_key=str(uuid.uuid4()),
        )
        return as_json(created, 201, oc.OrderRead)

    async def saga(self, order_id: str) -> dict[str, Any]:
        r = await sagas_get_saga.asyncio_detailed(UUID(order_id), client=self.api.orchestration)
        if r.status_code == 404:
            return {"state": None}
        return as_json(r, 200, orch.SagaRead)

    async def saga_reaches(self, order_id: str, state: str, timeout: float = 20) -> dict[str, Any]:
        saga: dict[str, Any] = await eventually(
            lambda: self.saga(order_id),
            until=lambda s: s["state"] == state,
            timeout=timeout,
            what=f"saga {order_id} {state}",
        )
        return saga

    async def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        r = await fulfillments_list_fulfillments.asyncio_detailed(
            client=self.api.orchestration, order_id=UUID(order_id)
        )
        items: list[dict[str, Any]] = as_json(r, 200, orch.FulfillmentPage)["items"]
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
    ) -> Answer:
        """One fulfilment action (accept, pick, ..., deliver) through the generated client."""
        call, body_model = FULFILLMENT_ACTIONS[action]
        kwargs: dict[str, Any] = {"client": self.api.orchestration}
        if body_model is not None:
            # None, not the generator's UNSET, for "no body": openapi-python-client 0.29 would
            # try to JSON-encode UNSET for an optional body.
            kwargs["body"] = None if body is None else body_model.from_dict(body)
        answer: Answer = await call.asyncio_detailed(UUID(fulfillment_id), **kwargs)
        return answer

    async def ship_all_the_way(self, fulfillment_id: str) -> dict[str, Any]:
        for action in ("accept", "pick", "pack", "ship", "deliver"):
            done = parsed(await self.act(fulfillment_id, action), 200, orch.FulfillmentRead)
        body: dict[str, Any] = done.to_dict()
        return body

    async def decisions(self, order_id: str) -> list[dict[str, Any]]:
        r = await sagas_routing_decisions.asyncio_detailed(
            UUID(order_id), client=self.api.orchestration
        )
        items: list[dict[str, Any]] = as_json(r, 200, orch.RoutingDecisionList)["items"]
        return items

    async def payments(self, order_id: str) -> list[tuple[str, str, str]]:
        r = await sagas_payments.asyncio_detailed(UUID(order_id), client=self.api.orchestration)
        return [
            (p.kind, p.status, p.amount) for p in parsed(r, 200, orch.PaymentOperationList).items
        ]

    async def hold(self, order_id: str, note: str) -> dict[str, Any]:
        r = await sagas_hold.asyncio_detailed(
            UUID(order_id), client=self.api.orchestration, body=orch.HoldBody(note=note)
        )
        return as_json(r, 200, orch.SagaRead)

    async def release(self, order_id: str, note: str) -> dict[str, Any]:
        r = await sagas_release.asyncio_detailed(
            UUID(order_id), client=self.api.orchestration, body=orch.HoldBody(note=note)
        )
        return as_json(r, 200, orch.SagaRead)

    async def new_payment_method(self, order_id: str, token: str) -> dict[str, Any]:
        r = await sagas_new_payment_method.asyncio_detailed(
            UUID(order_id), client=self.api.orchestration, body=orch.PaymentMethodBody(token=token)
        )
        return as_json(r, 200, orch.SagaRead)

    @asynccontextmanager
    async def reviewed(self, rules: dict[str, Any]) -> AsyncIterator[None]:
        """These review rules in force for the block, the ones before restored after it."""
        url = f"{self.urls['orchestration']}/v1/review-rules"
        before = (await self.http.get(url)).json()
        body = {k: v for k, v in before.items() if k not in ("version", "created_at")}
        put = await self.http.put(url, json=rules)
        assert put.status_code == 200, put.text
        try:
            yield
        finally:
            restored = await self.http.put(url, json=body)
            assert restored.status_code == 200, restored.text

    async def holds(self, reason: str | None = None) -> list[dict[str, Any]]:
        """Every held order (all pages), as GET /v1/holds lists them."""
        found: list[dict[str, Any]] = []
        cursor: str | orch_types.Unset = orch_types.UNSET
        while True:
            r = await sagas_list_holds.asyncio_detailed(
                client=self.api.orchestration,
                reason=orch.HoldReason(reason) if reason else orch_types.UNSET,
                cursor=cursor,
                limit=200,
            )
            page = as_json(r, 200, orch.HoldPage)
            found += page["items"]
            if not page.get("next_cursor"):
                return found
            cursor = page["next_cursor"]

    async def inbound(self, code: str, sku: str, quantity: int, *, in_days: int) -> str:
        """A delivery of `quantity` expected at the location in `in_days` days; its id."""
        r = await self.http.post(
            f"{self.urls['inventory']}/v1/inbound",
            json={
                "location_code": code,
                "sku": sku,
                "quantity": quantity,
                "expected_at": (datetime.now(UTC) + timedelta(days=in_days)).isoformat(),
            },
        )
        assert r.status_code == 201, r.text
        inbound_id: str = r.json()["id"]
        return inbound_id

    async def delays(self, order_id: str) -> list[dict[str, Any]]:
        """The order's order_delayed events on Kafka, once there is one."""

        async def found() -> list[dict[str, Any]]:
            events = await events_about(ORCHESTRATION_EVENTS, {order_id})
            return [e.data for e in events if e.type == "oms.orchestration.order_delayed"]

        delays: list[dict[str, Any]] = await eventually(
            found, until=bool, what="order_delayed on Kafka"
        )
        return delays

    async def place_backordered(self, lines: list[tuple[str, int]]) -> dict[str, Any]:
        """An order placed on a channel that backorders, once its saga waits as backordered."""
        async with self.backordering():
            order = await self.place(lines)
            await self.saga_reaches(order["id"], "backordered")
        return order

    @asynccontextmanager
    async def backordering(self, channel: str = "web") -> AsyncIterator[None]:
        """The channel's orders backorder when nothing serves them from stock, for the block;
        the strategy before is restored after it."""
        url = f"{self.urls['orchestration']}/v1/routing/strategy"
        current = (await self.http.get(url)).json()
        body = {k: v for k, v in current.items() if k not in ("version", "created_at")}
        policies = body["channel_policies"] | {channel: "backorder"}
        put = await self.http.put(
            url,
            json=body | {"channel_policies": policies},
            headers={"If-Match": f'"{current["version"]}"'},
        )
        assert put.status_code == 200, put.text
        try:
            yield
        finally:
            latest = (await self.http.get(url)).json()["version"]
            restored = await self.http.put(url, json=body, headers={"If-Match": f'"{latest}"'})
            assert restored.status_code == 200, restored.text

    async def stock_at(self, code: str, sku: str) -> tuple[int, int]:
        """(on hand, reserved) of the SKU at one location."""
        r = await stock_get.asyncio_detailed(sku, client=self.api.inventory)
        for loc in parsed(r, 200, inv.StockRead).locations:
            if loc.location_code == code:
                return loc.on_hand, loc.reserved
        raise AssertionError(f"no stock of {sku} at {code}")

    async def order(self, order_id: str) -> dict[str, Any]:
        r = await orders_get.asyncio_detailed(UUID(order_id), client=self.api.order_capture)
        return as_json(r, 200, oc.OrderRead)

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


# Each fulfilment action's generated operation and its request body model (None: no body).
FULFILLMENT_ACTIONS: dict[str, tuple[Any, Any]] = {
    "accept": (fulfillments_accept, None),
    "reject": (fulfillments_reject, orch.RejectBody),
    "pick": (fulfillments_pick, orch.PickBody),
    "pack": (fulfillments_pack, None),
    "ship": (fulfillments_ship, orch.ShipBody),
    "ready_for_pickup": (fulfillments_ready_for_pickup, None),
    "collect": (fulfillments_collect, None),
    "deliver": (fulfillments_deliver, None),
}


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
