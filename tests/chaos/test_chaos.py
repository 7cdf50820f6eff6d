"""Faults while orders flow (issue 23): each service killed with SIGKILL in turn, the broker
stopped for 20 s, PostgreSQL stopped with `-m immediate` for 10 s.

Each passes only if: the clients saw nothing but 2xx or 503 with Retry-After (no 500, no
hang); no accepted order was lost (each confirmed within 30 s of the last fault); none was
doubled (one order, one reservation, one authorisation, one fulfilment order each); the
inventory's invariants hold; and, during the broker outage, no service flooded its log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import text

from libs.db.engine import make_engine
from tests.support.exactly_once import tally_orders
from tests.support.polling import eventually

from .checks import assert_each_order_once, where_they_stand
from .conftest import Chaos
from .load import Load

CLIENTS = 2
# Orders accepted before a fault starts and again after it ends: the load really flowed.
FLOWING = 5
CONFIRMED_WITHIN_S = 30.0
BROKER_OUTAGE_S = 20.0
DATABASE_OUTAGE_S = 10.0
KILLED_FOR_S = 1.0
# What one service may log while the broker is away for 20 s (it logged ~7,000 lines a
# second before the reconnect backoff and the repeat filter).
MAX_LINES_IN_BROKER_OUTAGE = 200
MAX_BYTES_IN_BROKER_OUTAGE = 200_000

Fault = Callable[[], Awaitable[None]]


async def accepted(load: Load, at_least: int) -> None:
    async def enough() -> int:
        return len(load.accepted)

    await eventually(
        enough,
        until=lambda n: n >= at_least,
        timeout=60,
        interval=0.2,
        what=f"{at_least} orders accepted ({len(load.failures)} failures: {load.failures[:3]})",
    )


async def under_load(chaos: Chaos, sku: str, fault: Fault) -> tuple[Load, float]:
    """Orders flow before, during and after `fault`; returns the load and when the fault
    ended."""
    load = Load(chaos.url("order_capture"), chaos.headers, sku, clients=CLIENTS)
    running = asyncio.create_task(load.run())
    try:
        await accepted(load, FLOWING)
        await fault()
        ended = time.monotonic()
        await accepted(load, len(load.accepted) + FLOWING)
    finally:
        load.stop()
        await running
    return load, ended


async def unconfirmed(chaos: Chaos, order_ids: list[str]) -> list[str]:
    engine = make_engine(chaos.databases["order_capture"], pool_size=1)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                text("SELECT id, status FROM sales_order WHERE id = ANY(:ids)"), {"ids": order_ids}
            )
            status = {str(oid): s for oid, s in found}
    finally:
        await engine.dispose()
    return [oid for oid in order_ids if status.get(oid) != "confirmed"]


async def assert_nothing_lost_or_doubled(
    chaos: Chaos, load: Load, fault_ended: float, sku: str
) -> None:
    assert not load.failures, f"{len(load.failures)} client failures: {load.failures[:5]}"
    orders = load.accepted
    assert len(orders) >= 2 * FLOWING

    async def open_work() -> tuple[int, list[str]]:
        """How many orders are not done yet, and a few of them."""
        waiting = [f"order {o} not confirmed" for o in await unconfirmed(chaos, orders)]
        tally = await tally_orders(orders, databases=chaos.databases)
        work = waiting + [f"order {o}: {n}" for o, n in tally.not_exactly_once().items()]
        return len(work), work[:3]

    left = CONFIRMED_WITHIN_S - (time.monotonic() - fault_ended)
    try:
        await eventually(
            open_work,
            until=lambda work: work[0] == 0,
            timeout=max(left, 0.0),
            interval=0.5,
            what=f"all {len(orders)} orders confirmed, reserved, authorised and sent to a "
            f"location within {CONFIRMED_WITHIN_S}s of the last fault",
        )
    except AssertionError as late:
        standing = await where_they_stand(chaos.databases, orders)
        raise AssertionError(f"{late}\nwhere the orders stand: {standing}") from None
    await assert_each_order_once(chaos.databases, orders, sku=sku)
    async with httpx.AsyncClient(timeout=15, headers=chaos.headers) as http:
        r = await http.get(f"{chaos.url('inventory')}/v1/invariants")
    assert r.status_code == 200, r.text
    assert r.json()["ok"], r.json()["drift"][:5]
    for name in chaos.services:
        assert "Unclosed AIOKafkaProducer" not in chaos.log_since_start(name), name


async def test_each_service_killed_in_turn_loses_and_doubles_nothing(chaos: Chaos) -> None:
    sku = await chaos.stocked_sku("KILL")

    async def kill_each() -> None:
        # One after another, each down for a moment while orders arrive; the next is killed
        # while the one before is still starting (a Python service takes 10-20 s to serve on
        # a busy 2-core machine: waiting for each would make this one test minutes long).
        for proc in chaos.services.values():
            proc.kill()
            await asyncio.sleep(KILLED_FOR_S)
            proc.start()
        await asyncio.gather(*(proc.wait_healthy(timeout=90) for proc in chaos.services.values()))

    load, ended = await under_load(chaos, sku, kill_each)

    await assert_nothing_lost_or_doubled(chaos, load, ended, sku)


async def test_a_broker_outage_floods_no_log_and_loses_nothing(chaos: Chaos) -> None:
    sku = await chaos.stocked_sku("BROKER")
    written: dict[str, tuple[int, int]] = {}

    async def broker_away() -> None:
        at = {name: proc.log_path.stat().st_size for name, proc in chaos.services.items()}
        await chaos.kafka.stop()
        await asyncio.sleep(BROKER_OUTAGE_S)  # the outage itself
        for name, proc in chaos.services.items():
            with proc.log_path.open("rb") as log:
                log.seek(at[name])
                during = log.read()
            written[name] = (during.count(b"\n"), len(during))
        await chaos.kafka.start()

    load, ended = await under_load(chaos, sku, broker_away)

    flooded = {
        name: lines_and_bytes
        for name, lines_and_bytes in written.items()
        if lines_and_bytes[0] >= MAX_LINES_IN_BROKER_OUTAGE
        or lines_and_bytes[1] >= MAX_BYTES_IN_BROKER_OUTAGE
    }
    assert not flooded, f"(lines, bytes) logged in a {BROKER_OUTAGE_S:.0f} s outage: {written}"
    await assert_nothing_lost_or_doubled(chaos, load, ended, sku)


async def test_a_database_crash_gives_clients_503s_and_loses_nothing(chaos: Chaos) -> None:
    sku = await chaos.stocked_sku("PGDOWN")

    async def database_away() -> None:
        await asyncio.to_thread(chaos.postgres.stop_immediately)
        await asyncio.sleep(DATABASE_OUTAGE_S)  # the outage itself
        # pg_ctl -w returns once crash recovery is over; clients meanwhile are told 57P03.
        await asyncio.to_thread(chaos.postgres.start)

    load, ended = await under_load(chaos, sku, database_away)

    await assert_nothing_lost_or_doubled(chaos, load, ended, sku)
    answers = {a for placed in load.placed for a in placed.answers}
    assert "503" in answers, "the outage was never seen by a client"
