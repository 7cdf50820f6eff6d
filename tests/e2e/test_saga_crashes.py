"""Orchestration is killed at every step boundary of the saga, before and after the database
commit, while 20 sagas run; every saga still finishes, and each compensation happens once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx

from clients.orchestration.errors import UnexpectedStatus
from tests.e2e.conftest import ServiceProcess, Stack
from tests.e2e.flows import events_about
from tests.e2e.orchestration_flows import BERLIN, World
from tests.support.api import Answer, Api
from tests.support.polling import eventually

STEPS = (
    "routed",
    "stock_reserved",
    "payment_authorized",
    "fulfillment_created",
    "shipped",
    "payment_captured",
    "completed",
    "payment_declined",
    "cancellation",
    "payment_voided",
)
POINTS = [f"{step}:{when}" for step in STEPS for when in ("before", "after")]
HAPPY, DECLINED, CANCELLED = 14, 3, 3  # a round's sagas
MAX_ROUNDS = 4  # 56 of the warehouse's 100 units at most


AnswerT = TypeVar("AnswerT", httpx.Response, Answer)


async def persist(call: Callable[[], Awaitable[AnswerT]]) -> AnswerT:
    """A location's system retries while orchestration is down; a repeat is harmless."""

    async def attempt() -> AnswerT | None:
        try:
            r = await call()
        except (httpx.HTTPError, UnexpectedStatus):  # down, or a 500 the contract never promised
            return None
        return r if r.status_code < 500 else None

    answer = await eventually(
        attempt, until=lambda r: r is not None, timeout=60, interval=0.2, what="an answer"
    )
    assert answer is not None
    return answer


class Supervisor:
    """Restarts the crashing orchestration whenever it dies, as a process manager would."""

    def __init__(self, process: ServiceProcess) -> None:
        self.process = process
        self.crashes = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            assert self.process.process is not None
            if self.process.process.poll() is not None:
                assert self.process.process.returncode == 137, self.process.log_tail()
                self.crashes += 1
                self.process.start()
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()


class TestSagaCrashes:
    async def test_every_saga_finishes_after_a_crash_at_each_step_boundary(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api, tmp_path: Path
    ) -> None:
        normal = stack["orchestration"]
        await normal.stop()
        crashing = ServiceProcess(
            "orchestration",
            env={
                "ORCHESTRATION_CRASH_POINTS": ",".join(POINTS),
                "ORCHESTRATION_CRASH_MARKER_DIR": str(tmp_path),
                # A static member gets its partitions back at once after each restart.
                "ORCHESTRATION_KAFKA_GROUP_INSTANCE_ID": "orchestration-crash-test",
            },
            log_name="orchestration-crashing",
        )
        crashing.start()
        supervisor = Supervisor(crashing)
        watching = asyncio.create_task(supervisor.run())
        try:
            w = World(http, urls, api)
            sku = w.sku("CRASH")
            warehouse = await w.location("WH-CRASH", BERLIN, stock={sku: 100})
            happy: list[dict[str, Any]] = []
            declined: list[dict[str, Any]] = []
            cancelled: list[dict[str, Any]] = []
            # Orchestration commits a batch's steps together (a consumer's batch, a round of
            # payment answers), and a process dies at the first boundary not yet crashed at:
            # a step that always shares its commit with an earlier one (payment_authorized
            # with fulfillment_created) is crashed after only by a saga that comes later. So
            # the sagas run in rounds until every point has fired.
            for _ in range(MAX_ROUNDS):
                h, d, c = await self._round(w, sku, urls)
                happy, declined, cancelled = happy + h, declined + d, cancelled + c
                if len(await asyncio.to_thread(lambda: list(tmp_path.iterdir()))) == len(POINTS):
                    break
        finally:
            supervisor.stop()
            with contextlib.suppress(Exception):
                await watching
            await crashing.stop()
            normal.start()
            await normal.wait_healthy()

        fired = sorted(p.name for p in await asyncio.to_thread(lambda: list(tmp_path.iterdir())))
        assert fired == sorted(p.replace(":", ".") for p in POINTS), "a crash point never fired"
        assert supervisor.crashes == len(POINTS)
        await w.stock_settles(warehouse, sku, (100 - len(happy), 0))
        await self._exactly_once(w, happy, declined, cancelled)
        invariants = (await http.get(f"{urls['inventory']}/v1/invariants")).json()
        assert invariants["ok"], invariants["drift"]

    async def _round(
        self, w: World, sku: str, urls: dict[str, str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """A round of sagas, each run to its end: shipped, declined or cancelled."""
        happy = [await w.place([(sku, 1)]) for _ in range(HAPPY)]
        declined = [await w.place([(sku, 1)], token="tok_decline") for _ in range(DECLINED)]
        cancelled = [await w.place([(sku, 1)]) for _ in range(CANCELLED)]
        await asyncio.gather(
            *(self._ship(w, o) for o in happy), *(self._cancel(w, o) for o in cancelled)
        )
        finals = {
            **{o["id"]: "completed" for o in happy},
            **{o["id"]: "on_hold" for o in declined},
            **{o["id"]: "cancelled" for o in cancelled},
        }

        async def unfinished() -> list[str]:
            states = [
                await persist(
                    lambda o=o: w.http.get(  # type: ignore[misc]
                        f"{urls['orchestration']}/v1/sagas/{o}"
                    )
                )
                for o in finals
            ]
            return [
                o for o, r in zip(finals, states, strict=True) if r.json()["state"] != finals[o]
            ]

        await eventually(
            unfinished,
            until=lambda left: not left,
            timeout=120,
            interval=0.5,
            what="every saga finished",
        )
        return happy, declined, cancelled

    @staticmethod
    async def _published(topic: str, order_id: str, event_type: str) -> set[str]:
        """The distinct ids of the order's events of one type on a topic, once there is one
        (a relay publishes a moment after the change it carries commits)."""

        async def ids() -> set[str]:
            return {e.id for e in await events_about(topic, {order_id}) if e.type == event_type}

        return await eventually(ids, what=f"{event_type} about {order_id}")

    async def _ship(self, w: World, order: dict[str, Any]) -> None:
        fulfillment = await self._fulfillment_of(w, order)
        for action in ("accept", "pick", "pack", "ship", "deliver"):
            r = await persist(lambda a=action: w.act(fulfillment["id"], a))  # type: ignore[misc]
            assert r.status_code == 200, r.content

    async def _cancel(self, w: World, order: dict[str, Any]) -> None:
        await self._fulfillment_of(w, order)
        r = await w.http.post(
            f"{w.urls['order_capture']}/v1/orders/{order['id']}/cancel",
            json={"reason": "crash test"},
        )
        assert r.status_code == 200, r.text

    async def _fulfillment_of(self, w: World, order: dict[str, Any]) -> dict[str, Any]:
        async def created() -> list[dict[str, Any]]:
            r = await persist(
                lambda: w.http.get(
                    f"{w.urls['orchestration']}/v1/fulfillments", params={"order_id": order["id"]}
                )
            )
            return [f for f in r.json()["items"] if f["status"] == "created"]

        found = await eventually(created, timeout=120, interval=0.3, what="fulfilment created")
        assert len(found) == 1
        return found[0]

    async def _exactly_once(
        self,
        w: World,
        happy: list[dict[str, Any]],
        declined: list[dict[str, Any]],
        cancelled: list[dict[str, Any]],
    ) -> None:
        for order in happy:
            saga = await w.saga(order["id"])
            assert Decimal(saga["payment"]["captured"]) == Decimal(order["totals"]["grand_total"])
            assert [(k, s) for k, s, _ in await w.payments(order["id"])] == [
                ("authorize", "succeeded"),
                ("capture", "succeeded"),
            ]
        for order in declined + cancelled:
            saga = await w.saga(order["id"])
            names = [s["name"] for s in saga["steps"]]
            releases = await self._published(
                "oms.inventory.commands", order["id"], "oms.inventory.release_reservation"
            )
            assert len(releases) == 1, f"{order['id']}: released {len(releases)} times"
            released = await self._published(
                "oms.inventory.events", order["id"], "oms.inventory.reservation_released"
            )
            assert len(released) == 1, f"{order['id']}: answered {len(released)} releases"
            if order in declined:
                assert names.count("payment_declined") == 1
            else:
                assert names.count("payment_voided") == 1
                voids = [p for p in await w.payments(order["id"]) if p[0] == "void"]
                assert voids == [("void", "succeeded", order["totals"]["grand_total"])]
