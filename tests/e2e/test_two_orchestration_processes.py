"""Orchestration as two processes working on the same orders: each order is routed once, its
fulfilment order made once, and each payment call made once, because each process claims
the work it does; the overdue sweep, run by both, compensates each late fulfilment once.

Once means once at the source: the payment provider counts how often each idempotency key
was asked (a second process making the same call would show as a second request, though the
provider would answer it with the first outcome), and a routing plan made by a second
process for a saga the first already planned would be logged as superseded.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from libs.db.engine import make_engine
from tests.e2e.conftest import ServiceProcess, Stack
from tests.e2e.flows import events_about
from tests.e2e.orchestration_flows import BERLIN, MUNICH, World
from tests.e2e.test_service_processes import MEMORY_LIMIT_MB, peak_rss_mb, started
from tests.support.api import Api
from tests.support.environment import RUN_ID, database_url_for
from tests.support.polling import eventually

SHIPPED, LOST_ANSWER, NEVER_ACCEPTED = 16, 2, 2
ACCEPTANCE_TIMEOUT_S = 10


@pytest.fixture
async def two(stack: Stack) -> AsyncIterator[ServiceProcess]:
    """Orchestration as two processes in place of the stack's one; a location that does not
    accept a fulfilment order within seconds loses it to the overdue sweep."""
    normal = stack["orchestration"]
    await normal.stop()
    pair = ServiceProcess(
        "orchestration",
        env={
            "ORCHESTRATION_PROCESSES": "2",
            "ORCHESTRATION_KAFKA_GROUP_INSTANCE_ID": f"orchestration-{RUN_ID}",
            "ORCHESTRATION_ACCEPTANCE_TIMEOUT_S": str(ACCEPTANCE_TIMEOUT_S),
            # The production lease, not the suite's short one: no claim may lapse here.
            "ORCHESTRATION_WORKER_LEASE_S": "30",
        },
        log_name="orchestration-two-processes",
    )
    pair.start()
    try:
        await pair.wait_healthy()
        await eventually(
            lambda: asyncio.to_thread(lambda: started(pair)),
            until=lambda found: found == {1, 2},
            timeout=60,
            what="both processes started",
        )
        yield pair
    finally:
        await pair.stop()
        normal.start()
        await normal.wait_healthy()


async def provider_requests(keys: list[str]) -> dict[str, int]:
    """How often the simulated payment provider was asked each idempotency key."""
    engine = make_engine(database_url_for("orchestration"), pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT idempotency_key, requests FROM simulated_payment"
                    " WHERE idempotency_key = ANY(:keys)"
                ),
                {"keys": keys},
            )
            return {key: n for key, n in rows}
    finally:
        await engine.dispose()


def all_announced(
    found: list[Any], shipped: list[dict[str, Any]], ignored: list[dict[str, Any]]
) -> bool:
    unique = {e.id: e for e in found}.values()
    made = Counter(e.subject for e in unique if e.type.endswith("created"))
    rejected = Counter(e.subject for e in unique if e.type.endswith("rejected"))
    return all(made[o["id"]] >= 1 for o in shipped) and all(rejected[o["id"]] >= 2 for o in ignored)


class TestTwoOrchestrationProcesses:
    async def test_each_order_is_routed_once_and_each_payment_call_made_once(
        self, two: ServiceProcess, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp, chair = w.sku("LAMP"), w.sku("CHAIR")
        await w.location("WH-PAIR", BERLIN, stock={lamp: SHIPPED + LOST_ANSWER})
        # Chairs are at two locations that never accept: each loses the order in turn.
        near = await w.location("WH-IDLE-1", BERLIN, stock={chair: NEVER_ACCEPTED})
        far = await w.location("WH-IDLE-2", MUNICH, stock={chair: NEVER_ACCEPTED})
        # The simulated provider loses its first answer to a tok_timeout authorisation.
        lost = await asyncio.gather(
            *(w.place([(lamp, 1)], token="tok_timeout") for _ in range(LOST_ANSWER))
        )
        shipped = [*await asyncio.gather(*(w.place([(lamp, 1)]) for _ in range(SHIPPED))), *lost]
        ignored = await asyncio.gather(*(w.place([(chair, 1)]) for _ in range(NEVER_ACCEPTED)))

        await asyncio.gather(*(self._ship(w, o["id"]) for o in shipped))
        for order in shipped:
            await w.saga_reaches(order["id"], "completed", timeout=60)
        for order in ignored:
            await w.saga_reaches(
                order["id"], "waiting_for_stock", timeout=4 * ACCEPTANCE_TIMEOUT_S + 30
            )

        ids = {o["id"] for o in [*shipped, *ignored]}
        # The relay publishes a moment after the state it carries commits: read the topic
        # until every announcement is there, then count them exactly.
        created = await eventually(
            lambda: events_about("oms.orchestration.events", ids),
            until=lambda found: all_announced(found, shipped, ignored),
            timeout=30,
            interval=0.5,
            what="every fulfilment order's creation and rejection on the topic",
        )
        made = Counter(
            e.subject for e in {e.id: e for e in created}.values() if e.type.endswith("created")
        )
        for order in shipped:
            assert len(await w.decisions(order["id"])) == 1
            assert made[order["id"]] == 1, "one fulfilment order, announced once"
            assert [(k, s) for k, s, _ in await w.payments(order["id"])] == [
                ("authorize", "succeeded"),
                ("capture", "succeeded"),
            ]
        for order in ignored:
            await self._compensated_once(w, order["id"], near, far, created)
        await self._each_call_asked_once(w, [*shipped, *ignored], lost={o["id"] for o in lost})

        lines = await asyncio.to_thread(two.log_lines)
        assert not [ln for ln in lines if ln.get("event") == "saga.routing.superseded"]
        consuming = {ln.get("process") for ln in lines if ln.get("event") == "consumer.assigned"}
        assert consuming == {1, 2}, "both processes took part"
        for pid in two.children():
            assert peak_rss_mb(pid) <= MEMORY_LIMIT_MB, f"orchestration process {pid}"

    async def _ship(self, w: World, order_id: str) -> None:
        """Accept at once (within the acceptance timeout), then all the way to delivered."""
        (f,) = await eventually(
            lambda: w.fulfillments(order_id),
            until=lambda fs: len(fs) == 1,
            timeout=60,
            interval=0.3,
            what=f"the fulfilment order of {order_id}",
        )
        await w.ship_all_the_way(f["id"])

    async def _compensated_once(
        self, w: World, order_id: str, near: str, far: str, events: list[Any]
    ) -> None:
        """Routed near, swept, routed far, swept, held: each step once."""
        saga = await w.saga(order_id)
        assert sorted(saga["excluded_locations"]) == sorted([near, far])
        fulfillments = await w.fulfillments(order_id)
        assert sorted(f["location_code"] for f in fulfillments) == sorted([near, far])
        assert {f["status"] for f in fulfillments} == {"rejected"}
        assert {f["reason"] for f in fulfillments} == {"not accepted in time"}
        rejected = {
            e.id: e for e in events if e.subject == order_id and e.type.endswith("rejected")
        }
        assert len(rejected) == 2, "each late fulfilment order rejected once"
        assert len(await w.decisions(order_id)) == 3  # near, far, and nowhere left

    async def _each_call_asked_once(
        self, w: World, orders: list[dict[str, Any]], *, lost: set[str]
    ) -> None:
        expected: dict[str, int] = {}
        for order in orders:
            r = await w.http.get(f"{w.urls['orchestration']}/v1/orders/{order['id']}/payments")
            assert r.status_code == 200, r.text
            for op in r.json()["items"]:
                # An authorisation whose answer was lost is asked again, with the same key,
                # once: the provider answers the retry with the first outcome.
                again = order["id"] in lost and op["kind"] == "authorize"
                expected[f"{op['kind']}:{op['id']}"] = 2 if again else 1
        assert await provider_requests(list(expected)) == expected
