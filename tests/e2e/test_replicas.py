"""Two replicas of every service (two instances, each with its own port, sharing the service's
database and consumer group, as `make run REPLICAS=2` runs them) place, reserve, authorise
and route 500 orders exactly once while one replica of each service in turn is killed with
SIGKILL and started again.

The clients behave as clients behind a load balancer would: orders go to the two order-capture
replicas in turn, and a request that fails on a connection error or a 503 is sent again with
the same Idempotency-Key to the other replica. Exactly once is counted in the services'
databases (tests.support.exactly_once): one order per channel order reference, one
reservation, one authorisation and one fulfilment order per order; and no record reached a
dead-letter topic.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from tests.e2e.conftest import Replicas
from tests.e2e.orchestration_flows import BERLIN, World
from tests.support.api import Api
from tests.support.environment import SERVICES
from tests.support.exactly_once import (
    dead_letter_ends,
    dead_letters_since,
    orders_in_status,
    tally_orders,
)
from tests.support.orders import order_body
from tests.support.polling import eventually

ORDERS = 500
CLIENTS = 16
# Small orders of one unit, spread over a few SKUs so that no single stock row is the queue.
SKUS = 4
STOCK_PER_SKU = ORDERS // SKUS + 25
# A request given up after this long is a failure: the other replica is up all the time.
PLACE_TIMEOUT_S = 60
# Every order confirmed within this long after the last replica came back.
CONFIRMED_WITHIN_S = 60


async def place(
    http: httpx.AsyncClient, replicas: list[str], body: dict[str, object], first: int
) -> tuple[str, int]:
    """Place one order, as a client behind a load balancer: the replica `first` first, and
    after a connection error or a 503 the other one, with the same Idempotency-Key. The order
    id and how many attempts it took."""
    key = {"Idempotency-Key": str(uuid.uuid4())}
    deadline = time.monotonic() + PLACE_TIMEOUT_S
    attempt = 0
    while True:
        url = replicas[(first + attempt) % len(replicas)]
        try:
            r = await http.post(f"{url}/v1/orders", json=body, headers=key)
        except httpx.TransportError:
            pass  # the replica died under the request, or is not listening yet
        else:
            if r.status_code in (200, 201):
                return str(r.json()["id"]), attempt + 1
            assert r.status_code == 503, f"{url}: {r.status_code} {r.text}"
        attempt += 1
        assert time.monotonic() < deadline, f"{body['channel_order_ref']} not placed in time"
        # A client's back-off before it tries again (not a wait for a condition).
        await asyncio.sleep(min(0.05 * attempt, 0.5))


async def test_500_orders_routed_once_each_while_a_replica_of_every_service_is_killed(
    two_replicas: Replicas, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    skus = [w.sku(f"REP{n}") for n in range(SKUS)]
    await w.location("WH-REPLICAS", BERLIN, stock=dict.fromkeys(skus, STOCK_PER_SKU))
    dead_letters_before = await dead_letter_ends()
    capture = [proc.url for proc in two_replicas["order_capture"]]
    refs = [f"REP-{w.tag}-{n}" for n in range(ORDERS)]
    placed: dict[str, str] = {}
    retried: list[int] = []

    async def client(number: int) -> None:
        for n in range(number, ORDERS, CLIENTS):
            body = order_body([(skus[n % SKUS], 1, "10.00")], channel_order_ref=refs[n])
            placed[refs[n]], attempts = await place(http, capture, body, first=n)
            if attempts > 1:
                retried.append(n)

    async def kill_one_replica_of_each_service() -> None:
        """One service after another, each while orders are still being placed (at an even
        share of the load): SIGKILL, then started again at once. The stack's own replica,
        the elder of the two, which most likely leads the outbox relay. A restart takes
        seconds (longer on a busy machine), so the next service's kill does not wait for it:
        each service always has one replica up, and the load never waits for a restart."""

        restarted = []
        for i, name in enumerate(SERVICES):
            due = (i + 1) * ORDERS // (len(SERVICES) + 2)

            async def placed_enough(due: int = due) -> bool:
                return len(placed) >= due

            await eventually(
                placed_enough,
                timeout=120,
                what=f"{due} orders placed before killing {name}",
            )
            victim = two_replicas[name][0]
            victim.kill()
            victim.start()
            restarted.append(asyncio.ensure_future(victim.wait_healthy(timeout=90)))
        await asyncio.gather(*restarted)

    await asyncio.gather(kill_one_replica_of_each_service(), *map(client, range(CLIENTS)))
    assert len(placed) == ORDERS
    ids = list(placed.values())

    async def unconfirmed() -> list[str]:
        return sorted(set(ids) - await orders_in_status(ids, "confirmed"))

    # On failure the message names the orders still not confirmed at the deadline.
    await eventually(
        unconfirmed,
        until=lambda left: not left,
        timeout=CONFIRMED_WITHIN_S,
        interval=1,
        what="every order confirmed",
    )
    tally = await tally_orders(ids, refs=refs)
    assert tally.not_exactly_once() == {}, "orders not placed, reserved, authorised, routed once"
    assert await dead_letters_since(dead_letters_before) == {}
    assert retried, "no request met a killed replica: the test killed none under load"
