"""Returns end to end, through all four services and the real broker: a delivered order comes
partly back, is inspected, restocked by condition and refunded by the payment port; an
exchange places a linked replacement order; and every returns-related event delivered twice
more changes nothing anywhere."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaProducer

import clients.returns.models as rm
from clients.returns.api.returns import (
    returns_get_return,
    returns_label,
    returns_open_return,
    returns_receive,
)
from clients.returns.types import File
from libs.messaging.envelope import Envelope
from tests.e2e.conftest import Stack
from tests.e2e.flows import events_about
from tests.e2e.orchestration_flows import BERLIN, World
from tests.support.api import Answer, Api, as_json, parsed
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import consumed_to_end, read_topic
from tests.support.polling import eventually

POLICY = {
    "window_days": 30,
    "restocking_fee_percent": {"size_fit": "10"},
    "return_shipping_payer": {"damaged": "merchant", "size_fit": "customer"},
    "return_shipping_fee": "4.95",
    "refund_shipping_for": ["damaged"],
    "refund_timing": "on_receipt",
    "disposition": {"resellable": "restock", "damaged": "write_off", "defective": "quarantine"},
}
# Who reads which topics, for the "everything handled" barrier.
READERS = {
    "inventory": ["oms.returns.events"],
    "order-capture": ["oms.returns.events", "oms.orchestration.events"],
    "orchestration": ["oms.returns.events"],
    "returns": ["oms.order.events", "oms.orchestration.events"],
}


@pytest.fixture
async def policy(
    stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
) -> AsyncIterator[None]:
    """The tests' return policy, put in force for the test and the earlier one restored."""
    url = f"{urls['returns']}/v1/return-policy"
    before = (await http.get(url)).json()
    put = await http.put(url, json=POLICY)
    assert put.status_code == 200, put.text
    yield
    body = {k: v for k, v in before.items() if k not in ("version", "created_at")}
    assert (await http.put(url, json=body)).status_code == 200


class Returns:
    def __init__(self, w: World) -> None:
        self.w = w
        self.url = f"{w.urls['returns']}/v1"

    async def delivered_order(self, sku: str, units: int) -> dict[str, Any]:
        order = await self.w.place([(sku, units)])
        (f,) = await self.w.open_fulfillments(order["id"], 1)
        await self.w.ship_all_the_way(f["id"])
        await self.w.order_reaches(order["id"], "completed")
        return order

    async def open(self, order: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Opened once returns' projection knows the delivery (it learns it from events)."""
        request = rm.ReturnCreate.from_dict({"order_id": order["id"], **body})

        async def attempt() -> Answer:
            answer: Answer = await returns_open_return.asyncio_detailed(
                client=self.w.api.returns, body=request, idempotency_key=str(uuid.uuid4())
            )
            return answer

        def known(r: Answer) -> bool:
            return r.status_code == 201 or not (
                isinstance(r.parsed, rm.Problem)
                and r.parsed.code in ("order_not_found", "exceeds_returnable")
            )

        r = await eventually(
            attempt, until=known, timeout=20, what="returns to know the delivered order"
        )
        return as_json(r, 201, rm.ReturnRead)

    async def receive(self, return_id: str, body: dict[str, Any]) -> Answer:
        answer: Answer = await returns_receive.asyncio_detailed(
            UUID(return_id),
            client=self.w.api.returns,
            body=rm.ReceiveBody.from_dict(body),
            idempotency_key=str(uuid.uuid4()),
        )
        return answer

    async def label(self, return_id: str) -> bytes:
        r = await returns_label.asyncio_detailed(UUID(return_id), client=self.w.api.returns)
        return parsed(r, 200, File).payload.read()

    async def get(self, return_id: str) -> dict[str, Any]:
        r = await returns_get_return.asyncio_detailed(UUID(return_id), client=self.w.api.returns)
        return as_json(r, 200, rm.ReturnRead)

    async def reaches(self, return_id: str, status: str) -> dict[str, Any]:
        found: dict[str, Any] = await eventually(
            lambda: self.get(return_id),
            until=lambda r: r["status"] == status,
            timeout=30,
            what=f"return {return_id} {status}",
        )
        return found


class TestPartialReturn:
    async def test_two_of_three_units_come_back_one_restocked_and_the_right_refund_paid(
        self, policy: None, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        rt = Returns(w)
        lamp = w.sku("LAMP")
        wh = await w.location("WH-RET", BERLIN, stock={lamp: 5})
        order = await rt.delivered_order(lamp, 3)  # 3 x 10.00 + 4.90 shipping = 34.90
        line_id = order["lines"][0]["id"]
        await w.stock_settles(wh, lamp, (2, 0))

        opened = await rt.open(
            order,
            {
                "lines": [{"line_id": line_id, "quantity": 2, "reason": "size_fit"}],
                "method": "mail",
            },
        )
        assert opened["status"] == "approved"
        assert opened["label"]["paid_by"] == "customer"
        assert (await rt.label(opened["id"])).startswith(b"%PDF")

        received = await rt.receive(
            opened["id"],
            {
                "location_code": wh,
                "lines": [
                    {"line_id": line_id, "quantity": 1, "condition": "resellable"},
                    {"line_id": line_id, "quantity": 1, "condition": "damaged"},
                ],
            },
        )
        parsed(received, 200, rm.ReturnRead)
        again = await rt.receive(
            opened["id"],
            {
                "location_code": wh,
                "lines": [{"line_id": line_id, "quantity": 1, "condition": "resellable"}],
            },
        )
        assert parsed(again, 409, rm.Problem).code == "exceeds_expected_units"

        # 2 x 10.00, less 10 % restocking for size_fit, less 4.95 for the parcel back.
        closed = await rt.reaches(opened["id"], "closed")
        assert closed["refunded_amount"] == "13.05"
        await w.stock_settles(wh, lamp, (3, 0))  # the resellable one only
        payments = await w.payments(order["id"])
        assert [p for p in payments if p[0] == "refund"] == [("refund", "succeeded", "13.05")]
        final = await eventually(
            lambda: w.order(order["id"]),
            until=lambda o: (
                o["status"] == "partially_returned" and o["totals"]["refunded"] == "13.05"
            ),
            timeout=20,
            what="the order partially returned and refunded",
        )
        assert final["lines"][0]["quantities"]["returned"] == 2
        # The relay publishes a moment after the change commits: wait for the last one.
        published = await eventually(
            lambda: events_about("oms.returns.events", {order["id"]}),
            until=lambda events: bool(events) and events[-1].type == "oms.returns.closed",
            what="oms.returns.closed on oms.returns.events",
        )
        types = [e.type for e in published]
        assert types == [
            "oms.returns.requested",
            "oms.returns.approved",
            "oms.returns.received",
            "oms.returns.refund_requested",
            "oms.returns.refunded",
            "oms.returns.closed",
        ]

        await self._redelivered_twice_changes_nothing(w, rt, order, opened["id"], wh, lamp)

    async def _redelivered_twice_changes_nothing(
        self, w: World, rt: Returns, order: dict[str, Any], return_id: str, wh: str, sku: str
    ) -> None:
        """Every returns-related event of this order, sent twice more: once as it was (a
        redelivery) and once under a new id (a producer's re-send)."""
        before = (
            await rt.get(return_id),
            await w.order(order["id"]),
            await w.payments(order["id"]),
            await w.stock_at(wh, sku),
        )
        topics = ["oms.returns.events", "oms.orchestration.events", "oms.order.events"]
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
        await producer.start()
        sent = 0
        try:
            for topic in topics:
                for record in await read_topic(topic):
                    if record.key != order["id"].encode():
                        continue
                    event = Envelope.from_bytes(record.value)
                    resent = event.model_copy(update={"id": str(uuid.uuid4())})
                    for value in (record.value, resent.to_bytes()):
                        await producer.send_and_wait(
                            TOPIC_PREFIX + topic, key=record.key, value=value
                        )
                        sent += 1
        finally:
            await producer.stop()
        assert sent >= 2 * 10
        await consumed_to_end(READERS)

        after = (
            await rt.get(return_id),
            await w.order(order["id"]),
            await w.payments(order["id"]),
            await w.stock_at(wh, sku),
        )
        assert after[0] == before[0]
        assert after[1]["totals"] == before[1]["totals"]
        assert after[1]["lines"] == before[1]["lines"]
        assert after[1]["status"] == before[1]["status"]
        assert after[2] == before[2]
        assert after[3] == before[3]


class TestExchange:
    async def test_an_exchange_places_a_linked_replacement_order_charging_the_difference(
        self, policy: None, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        rt = Returns(w)
        small, large = w.sku("SHIRT-S"), w.sku("SHIRT-L")
        wh = await w.location("WH-XCH", BERLIN, stock={small: 2, large: 2})
        order = await rt.delivered_order(small, 1)
        line_id = order["lines"][0]["id"]

        opened = await rt.open(
            order,
            {
                "lines": [{"line_id": line_id, "quantity": 1, "reason": "size_fit"}],
                "method": "mail",
                "resolution": {
                    "type": "exchange",
                    "replacement_sku": large,
                    "replacement_unit_price": "12.00",
                },
            },
        )
        assert opened["label"]["paid_by"] == "customer"
        received = await rt.receive(
            opened["id"],
            {
                "location_code": wh,
                "lines": [{"line_id": line_id, "quantity": 1, "condition": "resellable"}],
            },
        )
        parsed(received, 200, rm.ReturnRead)

        closed = await rt.reaches(opened["id"], "closed")
        exchange = closed["exchange"]
        assert exchange["status"] == "placed"
        # The shirt is worth 10.00, less 10 % restocking, less 4.95 for the parcel back.
        assert Decimal(exchange["credit"]) == Decimal("4.05")
        assert Decimal(exchange["difference"]) == Decimal("7.95")
        replacement = await w.order(exchange["order_id"])
        assert replacement["metadata"]["exchange_for_return"] == closed["rma_number"]
        assert replacement["tags"] == ["exchange"]
        assert [(ln["sku"], ln["quantity"]) for ln in replacement["lines"]] == [(large, 1)]
        assert Decimal(replacement["totals"]["grand_total"]) == Decimal("7.95")
        (f,) = await w.open_fulfillments(exchange["order_id"], 1)
        assert f["location_code"] == wh
        assert await w.payments(exchange["order_id"]) == [("authorize", "succeeded", "7.95")]
        await w.stock_settles(wh, small, (2, 0))  # resellable: back on the shelf
