"""Crashes in the middle of the flow lose nothing and double nothing."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from asyncio.subprocess import PIPE
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import text

from libs.db.engine import make_engine
from tests.e2e.conftest import ROOT, Stack
from tests.e2e.flows import (
    events_about,
    order_status,
    place_order,
    random_sku,
    set_stock,
    wait_for_status,
)
from tests.support.crashing_relay import CRASH_EXIT_CODE
from tests.support.environment import database_url_for
from tests.support.polling import eventually

ORDERS = 200
CONCURRENCY = 10


async def scalar(service: str, sql: str, **params: Any) -> Any:
    engine = make_engine(database_url_for(service), pool_size=1)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(text(sql), params)
    finally:
        await engine.dispose()


async def all_confirmed(
    http: httpx.AsyncClient, urls: dict[str, str], order_ids: list[str]
) -> list[str]:
    """The orders not yet confirmed (empty when all are)."""
    statuses = await asyncio.gather(*(order_status(http, urls, oid) for oid in order_ids))
    return [oid for oid, status in zip(order_ids, statuses, strict=True) if status != "confirmed"]


class TestInventoryKilledMidFlow:
    async def test_every_order_is_answered_exactly_once(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
    ) -> None:
        rng = random.Random(2)
        sku = random_sku("HOT")
        quantities = [rng.randint(1, 3) for _ in range(ORDERS)]
        # Exactly enough stock: one doubled reservation would leave a later order short.
        await set_stock(http, urls, location="WH-BER", sku=sku, on_hand=sum(quantities))
        inventory = stack["inventory"]
        placed: list[str] = []
        queue = list(enumerate(quantities))

        async def placer() -> None:
            while queue:
                n, qty = queue.pop(0)
                if n == ORDERS // 4:
                    inventory.kill()  # SIGKILL while orders keep arriving
                if n == ORDERS // 2:
                    inventory.start()
                placed.append((await place_order(http, urls, lines=[(sku, qty)]))["id"])

        await asyncio.gather(*(placer() for _ in range(CONCURRENCY)))
        await inventory.wait_healthy()
        assert len(placed) == ORDERS

        await eventually(
            lambda: all_confirmed(http, urls, placed),
            until=lambda left: not left,
            timeout=120,
            interval=1,
            what="all 200 orders confirmed",
        )
        stock = (await http.get(f"{urls['inventory']}/v1/stock/{sku}")).json()
        assert (stock["reserved"], stock["available"]) == (sum(quantities), 0)
        reservations = await scalar(
            "inventory",
            "SELECT count(*) FROM reservation r"
            " JOIN reservation_line l ON l.reservation_id = r.id WHERE l.sku = :sku",
            sku=sku,
        )
        assert reservations == ORDERS
        answers = await events_about("oms.inventory.events", set(placed))
        distinct_answers = Counter(e.subject for e in {e.id: e for e in answers}.values())
        assert set(distinct_answers) == set(placed)
        assert set(distinct_answers.values()) == {1}, "an order was answered twice"
        assert {e.type for e in answers} == {"oms.inventory.reservation_confirmed"}


class TestRelayDiesBetweenSendAndDelete:
    async def test_the_duplicate_send_is_absorbed_by_the_inbox(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
    ) -> None:
        order_capture = stack["order_capture"]
        await order_capture.stop()
        order_capture.start("api", "consumer")  # no relay: the placed event stays in the outbox
        try:
            await order_capture.wait_healthy()
            sku = random_sku("RELAY")
            await set_stock(http, urls, location="WH-BER", sku=sku, on_hand=10)
            order = await place_order(http, urls, lines=[(sku, 4)])
            # Its placed event's row (deleted once sent); the order's payment token went into
            # the outbox beside it, for orchestration's private topic.
            unpublished_sql = (
                "SELECT count(*) FROM outbox WHERE key = :k AND event_type = 'oms.order.placed'"
            )
            assert await scalar("order_capture", unpublished_sql, k=order["id"]) == 1

            crashed = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.support.crashing_relay", cwd=ROOT, stderr=PIPE
            )
            _, stderr = await asyncio.wait_for(crashed.communicate(), timeout=60)
            assert crashed.returncode == CRASH_EXIT_CODE, stderr.decode()[-2000:]
            assert (
                await scalar("order_capture", unpublished_sql, k=order["id"]) == 1
            )  # sent, never deleted
        finally:
            await order_capture.stop()
            order_capture.start()  # the real relay: sends the same rows again
        await order_capture.wait_healthy()

        await eventually(
            lambda: scalar("order_capture", unpublished_sql, k=order["id"]),
            until=lambda n: n == 0,
            what="the restarted relay deletes the row",
        )
        await wait_for_status(http, urls, order["id"], "confirmed")
        placed = [
            e
            for e in await events_about("oms.order.events", {order["id"]})
            if e.type == "oms.order.placed"
        ]
        assert len(placed) == 2 and placed[0].id == placed[1].id, "the event went out twice"
        inbox_sql = "SELECT count(*) FROM inbox WHERE event_id = :id"
        # Orchestration consumes the placed event and starts the saga once.
        assert await scalar("orchestration", inbox_sql, id=placed[0].id) == 1
        skipped = [
            json.loads(line)
            for line in stack["orchestration"].log_path.read_text().splitlines()
            if '"inbox.duplicate_skipped"' in line
        ]
        assert placed[0].id in {entry["event_id"] for entry in skipped}, (
            "the inbox did not see the duplicate"
        )
        reserved = (await http.get(f"{urls['inventory']}/v1/stock/{sku}")).json()["reserved"]
        assert reserved == 4, "the duplicate reserved twice"
        answers = await events_about("oms.inventory.events", {order["id"]})
        assert len({e.id for e in answers}) == 1
