"""Notifications killed (SIGKILL) while a webhook request is out at the receiver: the restarted
process sends that delivery again once its lease lapses, with the same webhook-id (at least
once: the receiver drops the repeat by it), and the order's later events follow, in order,
none lost."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.flows import wait_for_status
from tests.e2e.orchestration_flows import BERLIN, World
from tests.e2e.test_webhooks import endpoint
from tests.support.api import Api
from tests.support.polling import eventually
from tests.support.webhooks import ServedReceiver
from tools.webhook_receiver import Received, Receiver

# The order's event whose first request the receiver holds open: the second (the placed event
# has gone before it), so events of the order reach notifications both before and after the
# crash.
HELD_SEQUENCE = 2
# Longer than finding the held request and killing the process take; the worker's own 2 s
# time-out never ends the attempt first, since the process is dead by then.
HOLD_S = 5.0


class TestNotificationsKilledMidDelivery:
    async def test_the_delivery_in_flight_is_sent_again_and_none_is_lost(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        receiver = Receiver()
        ours: set[str] = set()  # the order's id once it is placed
        held: list[Received] = []

        def hold_the_chosen_one(got: Received) -> None:
            # Only the first request of the chosen event is held; its repeat after the
            # restart, and every other request, is answered at once.
            event = got.event
            chosen = (
                not held
                and event.get("subject") in ours
                and event["data"].get("sequence") == HELD_SEQUENCE
            )
            if chosen:
                held.append(got)
            receiver.delay_s = HOLD_S if chosen else 0.0

        receiver.on_receive = hold_the_chosen_one
        served = ServedReceiver(receiver)
        await served.start()
        notifications = stack["notifications"]
        flow: asyncio.Task[None] | None = None
        try:
            created = await endpoint(http, urls, served.url)
            receiver.secrets = [created["secret"]]
            w = World(http, urls, api)
            sku = w.sku("LAMP")
            await w.location(f"WH-{uuid.uuid4().hex[:6].upper()}", BERLIN, stock={sku: 5})
            order_id: str = (await w.place([(sku, 1)]))["id"]
            ours.add(order_id)
            # The order goes on to completed meanwhile: its later events reach notifications
            # while it is down or restarting.
            flow = asyncio.create_task(ship_and_complete(w, http, urls, order_id))

            await eventually(
                lambda: _async(bool(held) and receiver.in_flight > 0),
                timeout=30,
                interval=0.02,
                what=f"the order's event {HELD_SEQUENCE} held open at the receiver",
            )
            notifications.kill()
            notifications.start()
            await notifications.wait_healthy()
            await flow

            events = await eventually(
                lambda: _async(first_receipts(receiver, order_id)),
                until=lambda got: bool(got) and got[-1]["data"].get("status") == "completed",
                timeout=30,
                what="the order's events up to completed at the receiver after the restart",
            )
            deliveries = f"{urls['notifications']}/v1/webhook-endpoints/{created['id']}/deliveries"

            async def ledger() -> list[dict[str, Any]]:
                """The order's deliveries, oldest first."""
                items: list[dict[str, Any]] = (await http.get(deliveries)).json()["items"]
                return [d for d in reversed(items) if d["order_id"] == order_id]

            # Recording an answer follows the receipt: wait for the last one's.
            recorded = await eventually(
                ledger,
                until=lambda items: (
                    {d["status"] for d in items} == {"delivered"} and len(items) == len(events)
                ),
                what="every delivery of the order delivered in the ledger",
            )
        finally:
            if flow is not None and not flow.done():
                flow.cancel()
            await served.stop()

        (killed,) = held
        received = Counter(got.webhook_id for got in receiver.received)
        # The request out when the process died went again, the same event under the same
        # webhook-id and body, signed anew.
        repeats = [got for got in receiver.received if got.webhook_id == killed.webhook_id]
        assert len(repeats) >= 2, "the delivery in flight at the crash was not sent again"
        assert {got.body for got in repeats} == {killed.body}
        assert all(got.verified for got in receiver.received), "every signature verifies"
        # Per-order order on each webhook-id's first receipt: no gap, no event out of turn.
        sequences = [e["data"]["sequence"] for e in events]
        assert sequences == list(range(1, len(sequences) + 1)), sequences
        assert events[0]["type"] == "oms.order.placed"
        # Every event the order raised reached the receiver, and the ledger has each delivered.
        assert [d["webhook_id"] for d in recorded] == [e["id"] for e in events]
        assert all(received[e["id"]] >= 1 for e in events)
        # The killed attempt was never recorded (the process died before it could be): the
        # ledger counts one attempt fewer than the receiver got. That is how the test knows
        # the crash came mid-delivery, not after the worker had given up on the request.
        (killed_delivery,) = [d for d in recorded if d["webhook_id"] == killed.webhook_id]
        assert killed_delivery["attempts"] == len(repeats) - 1, killed_delivery


async def ship_and_complete(
    w: World, http: httpx.AsyncClient, urls: dict[str, str], order_id: str
) -> None:
    (f,) = await w.open_fulfillments(order_id, 1)
    for action in ("accept", "pick", "pack", "ship", "deliver"):
        assert (await w.act(f["id"], action)).status_code == 200
    await wait_for_status(http, urls, order_id, "completed")


def first_receipts(receiver: Receiver, order_id: str) -> list[dict[str, Any]]:
    """The order's events as the receiver first got each (a repeat of a webhook-id dropped, as
    a receiver that dedupes would)."""
    seen: set[str] = set()
    firsts = []
    for got in receiver.received:
        if got.webhook_id in seen or got.event.get("subject") != order_id:
            continue
        seen.add(got.webhook_id)
        firsts.append(got.event)
    return firsts


async def _async(value: Any) -> Any:
    return value
