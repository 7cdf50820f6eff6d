"""Webhooks against the running stack: a receiver on this machine gets an order's events, in
order, each signed as Standard Webhooks says (verified with its library); a receiver that is
down for 20 s gets what it missed once it is back, and the ledger shows the attempts; a replay
sends an order's deliveries again, in order, and a test ping arrives signed."""

from __future__ import annotations

import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.flows import wait_for_status
from tests.e2e.orchestration_flows import BERLIN, World
from tests.support.api import Api
from tests.support.polling import eventually
from tests.support.webhooks import ServedReceiver
from tools.webhook_receiver import Receiver

ORDER_EVENTS = "oms.order.*"
DOWN_FOR_S = 20


async def endpoint(http: httpx.AsyncClient, urls: dict[str, str], url: str) -> dict[str, Any]:
    r = await http.post(
        f"{urls['notifications']}/v1/webhook-endpoints",
        json={"url": url, "event_types": [ORDER_EVENTS], "description": "e2e receiver"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def about(receiver: Receiver, order_id: str) -> list[dict[str, Any]]:
    """The order's events the receiver got, as received (repeats included)."""
    return [got.event for got in receiver.received if got.event.get("subject") == order_id]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def shipped_and_delivered(w: World, http: httpx.AsyncClient, urls: dict[str, str]) -> str:
    sku = w.sku("LAMP")
    await w.location(f"WH-{uuid.uuid4().hex[:6].upper()}", BERLIN, stock={sku: 5})
    order = await w.place([(sku, 1)])
    (f,) = await w.open_fulfillments(order["id"], 1)
    for action in ("accept", "pick", "pack", "ship", "deliver"):
        assert (await w.act(f["id"], action)).status_code == 200
    await wait_for_status(http, urls, order["id"], "completed")
    order_id: str = order["id"]
    return order_id


class TestWebhooks:
    async def test_an_orders_events_arrive_in_order_each_signed(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        receiver = Receiver()
        served = ServedReceiver(receiver)
        await served.start()
        try:
            created = await endpoint(http, urls, served.url)
            receiver.secrets = [created["secret"]]
            order_id = await shipped_and_delivered(World(http, urls, api), http, urls)

            events = await eventually(
                lambda: _async(about(receiver, order_id)),
                until=lambda got: bool(got) and got[-1]["data"].get("status") == "completed",
                timeout=30,
                what="the order's events up to completed at the receiver",
            )
        finally:
            await served.stop()

        assert all(got.verified for got in receiver.received), "every signature verifies"
        sequences = [e["data"]["sequence"] for e in events]
        assert sequences == list(range(1, len(sequences) + 1)), sequences  # in order, no gap
        assert events[0]["type"] == "oms.order.placed"
        assert "token" not in events[0]["data"]["payment"]  # never sent to a webhook

    async def test_a_receiver_down_for_20_s_gets_what_it_missed_when_it_is_back(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        receiver = Receiver()
        served = ServedReceiver(receiver, port=free_port())
        created = await endpoint(http, urls, served.url)  # nothing listens there yet
        down_since = time.monotonic()
        receiver.secrets = [created["secret"]]
        order_id = await shipped_and_delivered(World(http, urls, api), http, urls)

        deliveries = f"{urls['notifications']}/v1/webhook-endpoints/{created['id']}/deliveries"

        async def tried() -> list[dict[str, Any]]:
            """The order's deliveries, oldest first."""
            items: list[dict[str, Any]] = (await http.get(deliveries)).json()["items"]
            return [d for d in reversed(items) if d["order_id"] == order_id]

        # While it is down, the ledger shows the first event's failed attempts, and the later
        # ones waiting behind it (an order's events go in order), none delivered.
        # Down for 20 s (the case): the scenario's length, not a wait for something.
        await eventually(
            tried,
            until=lambda items: (
                bool(items)
                and items[0]["attempts"] >= 2
                and time.monotonic() - down_since >= DOWN_FOR_S
            ),
            timeout=DOWN_FOR_S + 30,
            interval=0.5,
            what="failed attempts of the order's first delivery for 20 s while it is down",
        )
        assert {d["status"] for d in await tried()} == {"pending"}
        assert receiver.received == []
        await served.start()
        try:
            events = await eventually(
                lambda: _async(about(receiver, order_id)),
                until=lambda got: bool(got) and got[-1]["data"].get("status") == "completed",
                timeout=30,
                what="the missed events at the receiver once it is back",
            )
        finally:
            await served.stop()

        sequences = [e["data"]["sequence"] for e in events]
        assert sequences == list(range(1, len(sequences) + 1)), sequences
        assert all(got.verified for got in receiver.received)
        final = await eventually(
            tried,
            until=lambda items: {d["status"] for d in items} == {"delivered"},
            what="every delivery of the order delivered in the ledger",
        )
        assert final[0]["attempts"] >= 3  # two or more refused, then the one that went
        assert final[0]["event_type"] == "oms.order.placed"

    async def test_a_replay_sends_the_orders_deliveries_again_in_order_and_a_ping_arrives(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        receiver = Receiver()
        served = ServedReceiver(receiver)
        await served.start()
        try:
            created = await endpoint(http, urls, served.url)
            receiver.secrets = [created["secret"]]
            since = datetime.now(UTC) - timedelta(seconds=1)
            order_id = await shipped_and_delivered(World(http, urls, api), http, urls)
            first = await eventually(
                lambda: _async(about(receiver, order_id)),
                until=lambda got: bool(got) and got[-1]["data"].get("status") == "completed",
                timeout=30,
                what="the order's events up to completed at the receiver",
            )

            # A replay leaves a delivery that is in flight to that attempt, whose outcome then
            # decides its state (DeliveryRepository._requeued): the receiver may have the last
            # event before the worker has recorded it. Replay once every attempt is recorded,
            # as an operator replaying after the fact does.
            async def recorded() -> list[dict[str, Any]]:
                r = await http.get(
                    f"{urls['notifications']}/v1/deliveries",
                    params={"order_id": order_id, "limit": 100},
                )
                assert r.status_code == 200, r.text
                return [d for d in r.json()["items"] if d["endpoint_id"] == created["id"]]

            await eventually(
                recorded,
                until=lambda found: (
                    len(found) == len(first) and all(d["status"] == "delivered" for d in found)
                ),
                timeout=30,
                what="the order's deliveries recorded as delivered",
            )
            base = f"{urls['notifications']}/v1/webhook-endpoints/{created['id']}"
            replay = await http.post(
                f"{base}/replay",
                params={"since": since.isoformat()},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            assert replay.status_code == 202, replay.text
            # The order's events, and any other order's the endpoint had since then.
            assert replay.json()["requeued"] >= len(first)

            both = await eventually(
                lambda: _async(about(receiver, order_id)),
                until=lambda got: len(got) >= 2 * len(first),
                timeout=30,
                what="the replayed deliveries at the receiver",
            )
            ping = await http.post(f"{base}/test", headers={"Idempotency-Key": str(uuid.uuid4())})
            assert ping.status_code == 202, ping.text
            pinged = await eventually(
                lambda: _async(
                    [r for r in receiver.received if r.event.get("type") == "oms.webhook.ping"]
                ),
                timeout=30,
                what="the test ping at the receiver",
            )
        finally:
            await served.stop()

        again = both[len(first) :]
        # The same deliveries (same webhook-id: a receiver can tell it had them) in the same order.
        assert [e["id"] for e in again] == [e["id"] for e in first]
        assert [e["data"]["sequence"] for e in again] == list(range(1, len(first) + 1))
        assert all(got.verified for got in receiver.received), "every signature verifies"
        assert pinged[0].event["data"]["endpoint_id"] == created["id"]
        location = f"{urls['notifications']}{ping.headers['Location']}"

        async def ping_delivery() -> dict[str, Any]:
            found: dict[str, Any] = (await http.get(location)).json()
            return found

        # Recorded once the worker has the answer (just after the receiver has the request).
        delivery = await eventually(
            ping_delivery,
            until=lambda d: d["status"] == "delivered",
            what="the ping delivered in the ledger",
        )
        assert [a["status_code"] for a in delivery["attempt_log"]] == [receiver.status]


async def _async(value: Any) -> Any:
    return value
