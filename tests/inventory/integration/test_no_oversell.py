"""No oversell under load: the issue's "Done when", against the real database and broker.

Reservations arrive over HTTP (the in-process app) and as `oms.inventory.reserve_stock`
commands through the real broker to the in-process consumer, at the same time. Whatever the
interleaving, a SKU is never reserved beyond what is on hand, a reservation holds all its
lines or none, every counter matches its ledger, and no deadlock or 500 reaches a client.

The HTTP client behaves as the API asks a client to: a 503 under overload (a connection the
database was too slow to give, a transaction that lost a deadlock) carries Retry-After and a
stable code, and the client sends the same request again after it. The test counts those
answers and fails on any other 5xx, or on a 503 without Retry-After.

The figures (wall time, throughput) are printed: run with `-s` to see them.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from libs.clock import SystemClock
from libs.contracts import inventory as inv
from libs.messaging.envelope import CONTENT_TYPE
from libs.messaging.kafka import make_producer
from libs.messaging.topics import INVENTORY_COMMANDS, dlq_of
from libs.observability.correlation import correlation_scope
from libs.outbox.writer import OutboxWriter
from libs.runtime import ServiceContainer
from services.inventory.adapters.tables import (
    plumbing,
    reservation,
    reservation_line,
    stock_level,
    stock_movement,
)
from services.inventory.bootstrap import bootstrap
from services.inventory.config import InventorySettings
from tests.inventory.integration.conftest import client_for, create_location, stock, unique
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import read_topic
from tests.support.polling import eventually

# Connections per pool (and as many again in overflow): the database sees at most 20 API
# transactions and the consumer's at once, however many HTTP requests are in flight. Those
# beyond queue for a connection (three times per request), and no wait may come anywhere
# near the pool's 30 s timeout. The queue is not fair (asyncio.Queue lets a newcomer take a
# connection before the waiter it was handed to runs), so its longest wait grows fast with
# the requests in flight: measured here, 500 multi-line requests in flight waited up to
# 12-15 s for one connection, 100 up to 5 s, at the same throughput.
POOL_SIZE = 10
SEED = 20_251_122
# The answers that mean "at capacity, send it again" (docs/errors.md), and how often a client
# here does; a request still refused after that fails the test.
OVERLOAD_CODES = {"database_busy", "database_unavailable", "transaction_conflict"}
OVERLOAD_RETRIES = 3
REPLIES = (inv.ReservationConfirmed.event_type, inv.ReservationRejected.event_type)
# Sends commands the way orchestration's outbox would: the same envelope, key and headers.
COMMANDS = OutboxWriter(table=plumbing.outbox, service="orchestration", clock=SystemClock())


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    location_code: str | None = None


@dataclass(frozen=True)
class Ask:
    """One reservation request, sent over HTTP or as a command on the broker."""

    order_id: UUID
    lines: tuple[Line, ...]
    via_kafka: bool


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float  # the request's own wall time, pool waits and retries included
    # The 503s (overload, with Retry-After) answered before this, each retried after the hint.
    overloaded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Load:
    """What a burst of requests got back, and how long until every one was decided."""

    http: dict[UUID, Answer]
    seconds: float
    # Commands the consumer had decided by the time the last HTTP answer came: the interleaving.
    kafka_during_http: int


class Elsewhere:
    """A thread with an event loop of its own, standing for the processes around the API: it
    runs inventory's consumer (own pool, own Kafka clients, as `python -m services.inventory
    consumer` scaled apart would) and the producer of the commands (as orchestration's relay).

    On the test's event loop, behind hundreds of HTTP requests in flight, both would get a
    turn so seldom that the commands would mostly be decided after the HTTP burst instead of
    in the thick of it.
    """

    def __init__(self, settings: InventorySettings, backends: set[int]) -> None:
        self._settings = settings
        self._backends = backends
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        container = bootstrap(self._settings)
        assert container.consumer is not None
        record_backends(container, self._backends)
        self._producer = make_producer(
            bootstrap_servers=BOOTSTRAP_SERVERS, client_id="no-oversell-test"
        )
        await self._producer.start()
        self._loop = asyncio.get_running_loop()
        self._consumer = asyncio.create_task(container.consumer.run())
        self._started.set()
        try:
            await self._consumer
        except asyncio.CancelledError:
            pass
        finally:
            await self._producer.stop()
            await container.engine.dispose()

    async def start(self) -> None:
        self._thread.start()
        assert await asyncio.to_thread(self._started.wait, 10), "the consumer did not start"

    async def send(self, asks: Sequence[Ask]) -> None:
        """Produce the commands from this thread, while the caller's loop goes on."""
        assert self._loop is not None and self._producer is not None
        sending = send_commands(self._producer, asks, chunk=25)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(sending, self._loop))

    async def stop(self) -> None:
        """Stop the consumer and wait until its database connections are closed."""
        if self._loop is not None and self._consumer is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._consumer.cancel)
            await asyncio.to_thread(self._thread.join, 30)
            assert not self._thread.is_alive(), "the consumer did not stop"


def record_backends(container: ServiceContainer, backends: set[int]) -> None:
    """Collect the server pid of every connection the container's engine opens."""

    def connected(dbapi_connection: Any, _: Any) -> None:
        backends.add(dbapi_connection.driver_connection.get_server_pid())

    event.listen(container.engine.sync_engine, "connect", connected)


@dataclass(frozen=True)
class Inventory:
    api: ServiceContainer
    elsewhere: Elsewhere
    backends: set[int]  # every database backend either side opened

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.api.session_factory

    async def stop(self) -> None:
        await self.elsewhere.stop()
        await self.api.engine.dispose()


@pytest.fixture
async def inventory(migrated_databases: None, kafka_topics: str) -> AsyncIterator[Inventory]:
    settings = InventorySettings(DATABASE_POOL_SIZE=POOL_SIZE)
    backends: set[int] = set()
    service = Inventory(bootstrap(settings), Elsewhere(settings, backends), backends)
    record_backends(service.api, backends)
    await service.elsewhere.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
async def client(inventory: Inventory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(inventory.api) as c:
        yield c


# --- sending -------------------------------------------------------------------------------


async def reserve_over_http(client: httpx.AsyncClient, ask: Ask, *, keyed: bool) -> Answer:
    body = {
        "order_id": str(ask.order_id),
        "lines": [
            {"sku": ln.sku, "quantity": ln.quantity}
            | ({"location_code": ln.location_code} if ln.location_code else {})
            for ln in ask.lines
        ],
    }
    headers = {"Idempotency-Key": str(uuid.uuid4())} if keyed else {}
    started = time.monotonic()
    overloaded: list[str] = []
    while True:
        r = await client.post("/v1/reservations", json=body, headers=headers)
        if r.status_code != 503 or len(overloaded) >= OVERLOAD_RETRIES:
            return Answer(r.status_code, r.json(), time.monotonic() - started, tuple(overloaded))
        assert "Retry-After" in r.headers, f"a 503 without Retry-After: {r.text}"
        assert r.json()["code"] in OVERLOAD_CODES, r.text
        overloaded.append(r.json()["code"])
        await asyncio.sleep(float(r.headers["Retry-After"]))


def reserve_stock_record(ask: Ask) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the command, as a relay would put it on the topic."""
    command = inv.ReserveStock(
        order_id=str(ask.order_id),
        lines=[
            inv.RequestedLine(sku=ln.sku, quantity=ln.quantity, location_code=ln.location_code)
            for ln in ask.lines
        ],
    )
    with correlation_scope(None):
        env = COMMANDS.envelope(command)
    headers = [
        ("content-type", CONTENT_TYPE.encode()),
        ("correlation-id", env.correlationid.encode()),
    ]
    return env.partitionkey.encode(), env.to_bytes(), headers


async def send_commands(producer: AIOKafkaProducer, asks: Sequence[Ask], *, chunk: int) -> None:
    """Produce in chunks, each acknowledged before the next."""
    topic = TOPIC_PREFIX + INVENTORY_COMMANDS
    for start in range(0, len(asks), chunk):
        acks = []
        for ask in asks[start : start + chunk]:
            key, value, headers = reserve_stock_record(ask)
            acks.append(await producer.send(topic, value=value, key=key, headers=headers))
        await asyncio.gather(*acks)


async def fire(
    inventory: Inventory,
    client: httpx.AsyncClient,
    asks: Sequence[Ask],
    *,
    in_flight: int,
    timeout: float,
) -> Load:
    """The HTTP requests (`in_flight` at a time) while the commands are produced and consumed,
    then wait for all to be decided (a reservation per order, confirmed or rejected)."""
    over_http = [a for a in asks if not a.via_kafka]
    over_kafka = [a for a in asks if a.via_kafka]
    slots = asyncio.Semaphore(in_flight)

    async def reserve(ask: Ask, keyed: bool) -> Answer:
        async with slots:
            return await reserve_over_http(client, ask, keyed=keyed)

    started = time.monotonic()
    answers = asyncio.gather(*(reserve(a, i % 2 == 0) for i, a in enumerate(over_http)))
    await inventory.elsewhere.send(over_kafka)
    http = dict(zip((a.order_id for a in over_http), await answers, strict=True))
    kafka_during_http = await reservations_made(inventory, [a.order_id for a in over_kafka])
    order_ids = [a.order_id for a in asks]
    await eventually(
        lambda: reservations_made(inventory, order_ids),
        until=lambda n: n == len(asks),
        timeout=timeout,
        interval=0.2,
        what=f"a reservation for each of the {len(asks)} orders",
    )
    return Load(http, time.monotonic() - started, kafka_during_http)


# --- reading back --------------------------------------------------------------------------


async def reservations_made(inventory: Inventory, order_ids: Sequence[UUID]) -> int:
    async with inventory.sessions() as s:
        found = await s.scalar(select(func.count()).where(reservation.c.order_id.in_(order_ids)))
        return int(found or 0)


@dataclass(frozen=True)
class Made:
    """A reservation as stored: its status and its lines (sku, location, quantity, held)."""

    order_id: UUID
    status: str
    lines: tuple[tuple[str, str | None, int, int, int], ...]


async def reservations_of(inventory: Inventory, order_ids: Sequence[UUID]) -> list[Made]:
    async with inventory.sessions() as s:
        rows = await s.execute(
            select(
                reservation.c.id,
                reservation.c.order_id,
                reservation.c.status,
                reservation_line.c.sku,
                reservation_line.c.location_code,
                reservation_line.c.quantity,
                reservation_line.c.held,
                reservation_line.c.backordered,
            )
            .join(reservation_line, reservation_line.c.reservation_id == reservation.c.id)
            .where(reservation.c.order_id.in_(order_ids))
            .order_by(reservation.c.id, reservation_line.c.line_no)
        )
        by_id: dict[UUID, tuple[UUID, str]] = {}
        lines: dict[UUID, list[tuple[str, str | None, int, int, int]]] = defaultdict(list)
        for r in rows:
            by_id[r.id] = (r.order_id, r.status)
            lines[r.id].append((r.sku, r.location_code, r.quantity, r.held, r.backordered))
    return [Made(o, st, tuple(lines[rid])) for rid, (o, st) in by_id.items()]


async def replies_in_outbox(inventory: Inventory, order_ids: Sequence[UUID]) -> Counter[str]:
    """Reply events per order id, written by the reserving transactions (relay not running)."""
    outbox = plumbing.outbox
    async with inventory.sessions() as s:
        keys = await s.scalars(
            select(outbox.c.key).where(
                outbox.c.key.in_([str(o) for o in order_ids]), outbox.c.event_type.in_(REPLIES)
            )
        )
        return Counter(keys)


async def confirmations_in_outbox(inventory: Inventory, order_ids: Sequence[UUID]) -> int:
    outbox = plumbing.outbox
    async with inventory.sessions() as s:
        found = await s.scalar(
            select(func.count()).where(
                outbox.c.key.in_([str(o) for o in order_ids]),
                outbox.c.event_type == inv.ReservationConfirmed.event_type,
            )
        )
        return int(found or 0)


async def counters(
    inventory: Inventory, skus: Sequence[str]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(location, sku) -> (on_hand, reserved) as stored."""
    async with inventory.sessions() as s:
        rows = await s.execute(
            select(
                stock_level.c.location_code,
                stock_level.c.sku,
                stock_level.c.on_hand,
                stock_level.c.reserved,
            ).where(stock_level.c.sku.in_(skus))
        )
        return {(r.location_code, r.sku): (r.on_hand, r.reserved) for r in rows}


async def ledger_sums(
    inventory: Inventory, skus: Sequence[str]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(location, sku) -> (sum of on_hand deltas, sum of reserved deltas) over the ledger."""
    async with inventory.sessions() as s:
        rows = await s.execute(
            select(
                stock_movement.c.location_code,
                stock_movement.c.sku,
                func.sum(stock_movement.c.on_hand_delta),
                func.sum(stock_movement.c.reserved_delta),
            )
            .where(stock_movement.c.sku.in_(skus))
            .group_by(stock_movement.c.location_code, stock_movement.c.sku)
        )
        return {(code, sku): (int(oh), int(rs)) for code, sku, oh, rs in rows}


async def drift_of(client: httpx.AsyncClient, skus: Sequence[str]) -> list[dict[str, Any]]:
    """What GET /v1/invariants reports about these SKUs (the database is shared by the run)."""
    r = await client.get("/v1/invariants")
    assert r.status_code == 200, r.text
    return [d for d in r.json()["drift"] if d["sku"] in set(skus)]


async def dead_letters_of(order_ids: Sequence[UUID]) -> list[str]:
    keys = {str(o).encode() for o in order_ids}
    records = await read_topic(dlq_of(INVENTORY_COMMANDS))
    return [r.key.decode() for r in records if r.key in keys]


# --- deadlocks -----------------------------------------------------------------------------


class DeadlockCounter:
    """PostgreSQL's count of deadlocks detected in the test database (any session's: one
    retried by the consumer counts too, though no client saw it).

    Backends report it lazily (within a second, and at exit), so the reading after the load
    is taken once the service's connections are closed and their backends gone.
    """

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._engine = create_async_engine(inventory.api.settings.DATABASE_URL, poolclass=NullPool)

    async def read(self) -> int:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            )
            return int(found or 0)

    async def _service_backends(self) -> list[tuple[Any, ...]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pid, state, left(query, 80) FROM pg_stat_activity"
                    " WHERE pid = ANY(:pids)"
                ),
                {"pids": sorted(self._inventory.backends)},
            )
            return [tuple(r) for r in rows]

    async def read_settled(self) -> int:
        await self._inventory.stop()
        await eventually(
            self._service_backends,
            until=lambda backends: not backends,
            timeout=10,
            what="the service's database backends to exit (flushing their statistics)",
        )
        return await self.read()

    async def close(self) -> None:
        await self._engine.dispose()


@pytest.fixture
async def deadlocks(inventory: Inventory) -> AsyncIterator[DeadlockCounter]:
    counter = DeadlockCounter(inventory)
    try:
        yield counter
    finally:
        await counter.close()


def report(name: str, load: Load, asks: Sequence[Ask]) -> None:
    over_kafka = sum(a.via_kafka for a in asks)
    latencies = sorted(a.seconds for a in load.http.values())
    overloaded = Counter(code for a in load.http.values() for code in a.overloaded)
    print(
        f"\n[{name}] {len(asks)} reservations ({len(asks) - over_kafka} HTTP, {over_kafka} Kafka)"
        f" decided in {load.seconds:.1f} s: {len(asks) / load.seconds:.0f} requests/s;"
        f" HTTP answers {dict(sorted(Counter(a.status for a in load.http.values()).items()))},"
        f" latency p50 {latencies[len(latencies) // 2]:.1f} s, max {latencies[-1]:.1f} s;"
        f" {load.kafka_during_http}/{over_kafka} commands decided while HTTP was in flight;"
        f" 503s retried after Retry-After: {dict(overloaded) or 'none'}"
    )


def assert_only_201_or_insufficient_stock(answers: dict[UUID, Answer]) -> None:
    unexpected = {
        o: a
        for o, a in answers.items()
        if a.status != 201 and (a.status, a.body.get("code")) != (409, "insufficient_stock")
    }
    assert not unexpected, (
        f"{len(unexpected)} unexpected answers, e.g. {next(iter(unexpected.values()))}"
    )


# --- the tests -----------------------------------------------------------------------------


class TestNoOversell:
    async def test_1000_concurrent_requests_for_10_units_reserve_exactly_10(
        self,
        inventory: Inventory,
        client: httpx.AsyncClient,
        deadlocks: DeadlockCounter,
    ) -> None:
        location, sku = unique("WH"), unique("SKU")
        await create_location(client, location)
        await stock(client, location, sku, 10)
        # Half name the location, half let inventory pick it; both channels, interleaved.
        asks = [
            Ask(uuid.uuid4(), (Line(sku, 1, location if i % 4 < 2 else None),), i % 2 == 1)
            for i in range(1000)
        ]
        deadlocks_before = await deadlocks.read()

        load = await fire(inventory, client, asks, in_flight=500, timeout=45)
        report("one SKU, 10 units", load, asks)

        assert_only_201_or_insufficient_stock(load.http)
        for answer in load.http.values():
            if answer.status == 409:
                (short,) = answer.body["extensions"]["lines"]
                assert (short["sku"], short["requested"], short["available"]) == (sku, 1, 0)
        order_ids = [a.order_id for a in asks]
        made = await reservations_of(inventory, order_ids)
        assert sorted(m.order_id for m in made) == sorted(order_ids)  # one per order
        via_kafka = {a.order_id for a in asks if a.via_kafka}
        statuses = Counter((m.order_id in via_kafka, m.status) for m in made)
        print(
            f"[one SKU, 10 units] confirmed: {statuses[(False, 'confirmed')]} over HTTP,"
            f" {statuses[(True, 'confirmed')]} over Kafka"
        )
        assert statuses[(False, "confirmed")] + statuses[(True, "confirmed")] == 10, statuses
        assert statuses[(False, "rejected")] + statuses[(True, "rejected")] == 990, statuses
        confirmed_over_http = {o for o, a in load.http.items() if a.status == 201}
        assert confirmed_over_http == {
            m.order_id for m in made if m.status == "confirmed" and m.order_id not in via_kafka
        }
        for m in made:
            held = 1 if m.status == "confirmed" else 0
            assert [(ln[0], ln[3], ln[4]) for ln in m.lines] == [(sku, held, 0)], m

        r = await client.get(f"/v1/stock/{sku}")
        assert r.status_code == 200, r.text
        assert (r.json()["on_hand"], r.json()["reserved"], r.json()["available"]) == (10, 10, 0)
        assert await counters(inventory, [sku]) == {(location, sku): (10, 10)}
        assert await ledger_sums(inventory, [sku]) == {(location, sku): (10, 10)}
        assert await drift_of(client, [sku]) == []
        replies = await replies_in_outbox(inventory, order_ids)
        assert set(replies) == {str(o) for o in order_ids}
        assert set(replies.values()) == {1}  # exactly one answer per command and request
        assert await confirmations_in_outbox(inventory, order_ids) == 10
        assert await dead_letters_of(sorted(via_kafka)) == []
        assert await deadlocks.read_settled() == deadlocks_before

    async def test_2000_concurrent_multi_line_reservations_hold_all_lines_or_none(
        self,
        inventory: Inventory,
        client: httpx.AsyncClient,
        deadlocks: DeadlockCounter,
    ) -> None:
        print(f"\n[multi-line] random seed {SEED}")
        rnd = random.Random(SEED)
        locations = [unique(f"WH{i}") for i in range(3)]
        skus = [unique(f"SKU{i:02}") for i in range(20)]
        for code in locations:
            await create_location(client, code)
        on_hand: dict[tuple[str, str], int] = {}
        for sku in skus:
            # Every SKU somewhere; some locations never stock it (a line naming one is short).
            for code in rnd.sample(locations, rnd.randint(1, 3)):
                on_hand[(code, sku)] = rnd.randint(0, 40)
                await stock(client, code, sku, on_hand[(code, sku)])
        asks = [
            Ask(
                uuid.uuid4(),
                tuple(
                    Line(sku, rnd.randint(1, 4), rnd.choice([None, *locations]))
                    for sku in rnd.sample(skus, rnd.randint(1, 5))  # distinct, random order
                ),
                via_kafka=rnd.random() < 0.25,
            )
            for _ in range(2000)
        ]
        deadlocks_before = await deadlocks.read()

        load = await fire(inventory, client, asks, in_flight=100, timeout=55)
        report("20 SKUs, 1-5 lines", load, asks)

        assert_only_201_or_insufficient_stock(load.http)
        order_ids = [a.order_id for a in asks]
        made = {m.order_id: m for m in await reservations_of(inventory, order_ids)}
        assert sorted(made) == sorted(order_ids)  # one reservation per order
        held: Counter[tuple[str, str]] = Counter()
        for ask in asks:
            m = made[ask.order_id]
            assert m.status in ("confirmed", "rejected"), m
            if not ask.via_kafka:
                expected = 201 if m.status == "confirmed" else 409
                assert load.http[ask.order_id].status == expected, (m, load.http[ask.order_id])
            assert [(ln[0], ln[2]) for ln in m.lines] == [(ln.sku, ln.quantity) for ln in ask.lines]
            for line, (sku, at, quantity, line_held, backordered) in zip(
                ask.lines, m.lines, strict=True
            ):
                assert backordered == 0, m
                if m.status == "rejected":
                    assert line_held == 0, m  # nothing held by a rejected reservation
                    continue
                assert line_held == quantity, m  # every line of a confirmed one in full
                assert at is not None and line.location_code in (None, at), m
                held[(at, sku)] += line_held
        outcome = Counter(m.status for m in made.values())
        print(f"[multi-line] outcome {dict(outcome)}, units held {sum(held.values())}")
        assert outcome["confirmed"] > 0 and outcome["rejected"] > 0  # the load did contend

        stored = await counters(inventory, skus)
        assert stored == {key: (units, held[key]) for key, units in on_hand.items()}
        for (_, sku), (units, reserved) in stored.items():
            assert reserved <= units, sku
        for sku in skus:
            r = await client.get(f"/v1/stock/{sku}")
            assert r.status_code == 200, r.text
            assert r.json()["reserved"] <= r.json()["on_hand"], r.json()
        ledger = await ledger_sums(inventory, skus)
        assert set(ledger) <= set(stored)
        assert {key: ledger.get(key, (0, 0)) for key in stored} == stored
        assert await drift_of(client, skus) == []
        replies = await replies_in_outbox(inventory, order_ids)
        assert set(replies) == {str(o) for o in order_ids}
        assert set(replies.values()) == {1}
        assert await dead_letters_of([a.order_id for a in asks if a.via_kafka]) == []
        assert await deadlocks.read_settled() == deadlocks_before
