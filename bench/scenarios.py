"""The benchmark scenarios on a running stack: order capture, end to end, availability, the hot
SKU, growth and overload.

Closed loops (the highest rate capture sustains) run on wrk (bench.wrk); open loops at a fixed
rate run on bench.pacer's process. Both are C or lean asyncio, so the generator takes little
of the machine it shares with the stack; every run reports what it cost.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from bench import cpu, wrk
from bench import growth as grow
from bench import overload as overloaded
from bench.end_to_end import RoutedWatch, at_rate, cpu_point, watching
from bench.load import Pacer, open_loop, pacer, templates
from bench.pacer import UNIQUE, Spec
from bench.profile import reduce, start_recording
from bench.stack import LOG_DIR, Stack, libpq_url, settle
from libs import registry
from tests.support.environment import DATABASE_SUFFIX
from tests.support.orders import order_body

LOCATIONS = [f"BENCH-L{n:03d}" for n in range(100)]
PROFILE_DIR = LOG_DIR / "profiles"
SKUS = [f"BENCH-SKU-{n:04d}" for n in range(200)]
SERVICES = registry.names()
CLIENT_TIMEOUT_S = 10.0
IDLE_SAMPLE_S = 3.0


@dataclass(frozen=True)
class Timing:
    """How long each measurement runs; `quick` is for trying the harness, not for figures."""

    saturate_s: float = 15
    point_s: float = 10
    concurrency: int = 32
    e2e_s: float = 20  # placing window of each end-to-end rate
    e2e_drain_s: float = 120  # how long the last orders of a rate may take to be routed
    e2e_first_rate: float = 25
    e2e_top_rate: float = 1600  # the ladder stops doubling here
    growth_orders: tuple[int, int] = (10_000, 1_000_000)
    growth_skus: int = 100_000
    # Closed-loop runs of capture at each growth size, the median reported: three 15 s runs
    # of one size in a row gave 477, 459 and 438 orders/s (and 455, 465, 471 at 1 M orders),
    # so one run against one run measured the hour as much as the size.
    growth_saturations: int = 3
    overload_rate: float = 1000
    overload_s: float = 30
    # A stack that queues instead of shedding holds thousands of orders after the run; the
    # benchmark waits this long for the accepted ones, then reports what is left.
    overload_drain_s: float = 180

    @classmethod
    def quick(cls) -> Timing:
        return cls(
            saturate_s=3,
            point_s=2,
            concurrency=16,
            e2e_s=3,
            e2e_drain_s=20,
            e2e_top_rate=100,
            growth_orders=(1_000, 5_000),
            growth_skus=1_000,
            growth_saturations=1,
            overload_s=2,
            overload_drain_s=60,
        )


# The availability run's key for 50 SKUs in the compact shape (the target's figure).
COMPACT_50 = "50 compact"


def client(stack: Stack, service: str, concurrency: int = 64) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        base_url=stack.urls[service], headers=stack.headers(), limits=limits, timeout=30
    )


async def seed_network(stack: Stack, *, on_hand: int = 100_000) -> None:
    """100 locations, each holding every benchmark SKU: one stock import."""
    async with client(stack, "inventory") as http:
        for n, code in enumerate(LOCATIONS):
            r = await http.post(
                "/v1/locations",
                json={
                    "code": code,
                    "name": code,
                    "type": "warehouse",
                    "capabilities": ["ship"],
                    "address": {
                        "line1": "1 Bench St",
                        "city": "Berlin",
                        "postal_code": "10115",
                        "country": "DE",
                        "latitude": 47.5 + (n % 10) * 0.5,
                        "longitude": 6.0 + (n // 10) * 0.8,
                    },
                },
            )
            assert r.status_code in (201, 409), r.text
        rows = "".join(f"{code},{sku},{on_hand}\n" for code in LOCATIONS for sku in SKUS)
        r = await http.post(
            "/v1/stock/imports",
            content=("location_code,sku,on_hand\n" + rows).encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 202, r.text
        import_id = r.json()["id"]
        deadline = time.monotonic() + 300
        while (status := (await http.get(f"/v1/stock/imports/{import_id}")).json())[
            "status"
        ] not in ("completed", "failed"):
            assert time.monotonic() < deadline, "the seed import did not finish"
            await asyncio.sleep(0.5)
        assert status["status"] == "completed", status


def three_line_order(ref: str | None = None) -> dict[str, Any]:
    picked = random.sample(SKUS, 3)
    return order_body(
        [(sku, random.randint(1, 3), f"{random.randint(5, 80)}.99") for sku in picked],
        channel_order_ref=ref or f"BENCH-{uuid.uuid4().hex[:16]}",
    )


def order_bodies(count: int = 64) -> list[str]:
    """Pre-rendered orders for the generators, each with UNIQUE where its channel_order_ref
    goes (and, sent as the Idempotency-Key, what makes every request its own)."""
    return [
        json.dumps(three_line_order(f"BENCH-{UNIQUE}"), separators=(",", ":")) for _ in range(count)
    ]


def order_spec(stack: Stack, *, rate: float, seconds: float, want_ids: bool = False) -> Spec:
    """bench.pacer's run of POST /v1/orders at `rate` for `seconds`."""
    port = int(stack.urls["order_capture"].rsplit(":", 1)[1])
    return Spec(
        port=port,
        rate=rate,
        seconds=seconds,
        templates=templates(
            method="POST",
            port=port,
            headers={"content-type": "application/json", **stack.headers()},
            targets=["/v1/orders"],
            bodies=order_bodies(),
        ),
        prefix=f"{uuid.uuid4().hex[:8]}-",
        timeout_s=CLIENT_TIMEOUT_S,
        want_ids=want_ids,
    )


async def saturate(stack: Stack, timing: Timing) -> wrk.WrkRun:
    """Capture flat out with wrk: `timing.concurrency` connections, each sending its next
    order as soon as the last one was answered."""
    lua = wrk.script(
        order_bodies(),
        path="/v1/orders",
        headers={"Content-Type": "application/json", **stack.headers()},
        prefix=f"{uuid.uuid4().hex[:8]}-",
    )
    return await asyncio.to_thread(
        wrk.run,
        stack.urls["order_capture"] + "/v1/orders",
        lua,
        connections=timing.concurrency,
        seconds=timing.saturate_s,
        timeout_s=CLIENT_TIMEOUT_S,
    )


async def capture(stack: Stack, timing: Timing) -> dict[str, Any]:
    """POST /v1/orders, 3 lines and an Idempotency-Key each: the highest sustained rate of
    accepted orders (closed loop, wrk), then p50/p95/p99 at 25, 50 and 75 % of it (open loop,
    bench.pacer)."""
    saturated = await saturate(stack, timing)
    max_rate = saturated.rate_of(201)
    profiles = await _profiled_saturation(stack, timing)
    points = [saturated.summary("max (closed loop)")]
    async with pacer() as generator:
        for share in (0.25, 0.5, 0.75):
            await settle(stack)
            spec = order_spec(stack, rate=max(1.0, max_rate * share), seconds=timing.point_s)
            run = await generator.run(spec)
            points.append(run.summary(f"{round(share * 100)}%"))
    return {"max_rate": round(max_rate, 1), "points": points, "profiles": profiles}


async def _profiled_saturation(stack: Stack, timing: Timing) -> list[dict[str, Any]]:
    """Every service's profile while capture runs flat out, in a closed-loop run of its own
    whose rate is not reported: py-spy samples from outside the process (--nonblocking, so a
    service is never paused), but its four samplers took a fifth of capture's rate on 2 CPUs
    (226 and 247 orders/s against 283 and 309 without, alternating)."""
    await settle(stack)
    seconds = max(2, int(timing.saturate_s * 2 / 3))
    recordings = {
        name: (
            PROFILE_DIR / f"{name}.txt",
            start_recording(process.pid, PROFILE_DIR / f"{name}.txt", seconds - 1),
        )
        for name, process in stack.processes.items()
    }
    await saturate(stack, replace(timing, saturate_s=seconds))
    profiles = []
    for name, (path, recording) in recordings.items():
        await asyncio.to_thread(recording.wait)
        if path.exists():
            profiles.append(reduce(name, path.read_text()).to_dict())
    return profiles


async def availability(stack: Stack, timing: Timing, rate: float = 20) -> dict[str, Any]:
    """GET /v1/availability for 10 and for 50 SKUs, each held at all 100 locations, and
    GET /v1/availability/compact (the same answer in arrays) for 50."""
    found: dict[str, Any] = {}
    port = int(stack.urls["inventory"].rsplit(":", 1)[1])
    for label, path, count in (
        ("10", "/v1/availability", 10),
        ("50", "/v1/availability", 50),
        (COMPACT_50, "/v1/availability/compact", 50),
    ):
        targets = [f"{path}?skus=" + ",".join(random.sample(SKUS, count)) for _ in range(100)]
        spec = Spec(
            port=port,
            rate=rate,
            seconds=timing.point_s,
            templates=templates(
                method="GET", port=port, headers=stack.headers(), targets=targets, unique_key=False
            ),
            prefix="",
            timeout_s=CLIENT_TIMEOUT_S,
        )
        summary = (await open_loop(spec)).summary(f"{label} SKUs")
        found[label] = summary | {"rate": summary["achieved"]}
    return found


async def hot_sku(
    stack: Stack,
    timing: Timing,
    *,
    connections: int = 16,
    burst: int = 200,
    burst_stock: int = 150,
) -> dict[str, Any]:
    """Reservations of one unit of one SKU at one location.

    Sustained: `connections` clients (wrk), each sending its next reservation as soon as the
    last was answered, for `timing.point_s`: the rate one stock row sustains. Burst: `burst`
    sent at once against `burst_stock` units, more than a process admits at a time, so some
    are shed (503). Neither may reserve a unit that is not there."""
    location = LOCATIONS[0]
    async with client(stack, "inventory", burst) as http:
        sustained = await _hot_sustained(stack, http, location, connections, timing.point_s)
        print(f"hot SKU sustained: {json.dumps(sustained)}", flush=True)
        at_once = await _hot_burst(http, location, burst, burst_stock)
    return {"sustained": sustained, "burst": at_once}


async def _hot_sustained(
    stack: Stack,
    http: httpx.AsyncClient,
    location: str,
    connections: int,
    seconds: float,
    stock: int = 1_000_000,
) -> dict[str, Any]:
    sku = await _stocked(http, location, stock)
    body = json.dumps(
        {"order_id": UNIQUE, "lines": [{"sku": sku, "location_code": location, "quantity": 1}]}
    )
    lua = wrk.script(
        [body],
        path="/v1/reservations",
        headers={"Content-Type": "application/json", **stack.headers()},
        prefix=uuid.uuid4().hex[:8],
        as_uuid=True,
    )
    run = await asyncio.to_thread(
        wrk.run,
        stack.urls["inventory"] + "/v1/reservations",
        lua,
        connections=connections,
        seconds=seconds,
        timeout_s=CLIENT_TIMEOUT_S,
    )
    # wrk does not wait for the requests in flight when the time is up: a few of them may
    # still hold a unit that no counted answer reports.
    return _hot_figures(
        await _levels(http, sku),
        statuses=run.statuses,
        seconds=run.seconds,
        concurrency=connections,
    ) | {"latency": run.summary("sustained", accepted=(201,))}


async def _hot_burst(
    http: httpx.AsyncClient, location: str, attempts: int, stock: int
) -> dict[str, Any]:
    sku = await _stocked(http, location, stock)
    gate = asyncio.Event()

    async def reserve() -> int:
        await gate.wait()
        r = await http.post(
            "/v1/reservations",
            json={
                "order_id": str(uuid.uuid4()),
                "lines": [{"sku": sku, "location_code": location, "quantity": 1}],
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        return r.status_code

    tasks = [asyncio.create_task(reserve()) for _ in range(attempts)]
    await asyncio.sleep(0.2)  # every request is waiting on the gate
    started = time.perf_counter()
    gate.set()
    statuses = Counter(await asyncio.gather(*tasks))
    elapsed = time.perf_counter() - started
    return _hot_figures(
        await _levels(http, sku), statuses=statuses, seconds=elapsed, concurrency=attempts
    )


async def _stocked(http: httpx.AsyncClient, location: str, stock: int) -> str:
    """A new SKU with `stock` units at `location`."""
    sku = f"HOT-{uuid.uuid4().hex[:8]}"
    r = await http.put(f"/v1/locations/{location}/stock/{sku}", json={"on_hand": stock})
    assert r.status_code == 200, r.text
    return sku


async def _levels(http: httpx.AsyncClient, sku: str) -> tuple[int, int]:
    """(on hand, reserved) of the SKU over every location."""
    level = (await http.get(f"/v1/stock/{sku}")).json()
    return (
        sum(loc["on_hand"] for loc in level["locations"]),
        sum(loc["reserved"] for loc in level["locations"]),
    )


def _hot_figures(
    levels: tuple[int, int], *, statuses: Mapping[int, int], seconds: float, concurrency: int
) -> dict[str, Any]:
    on_hand, reserved = levels
    answered = sum(statuses.values())
    held, shed = statuses.get(201, 0), statuses.get(503, 0)
    return {
        "reservations": answered,
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        # Every answer but a shed one decided a reservation: held, or refused for want of
        # stock. A shed request decided nothing and does not count.
        "per_second": round((answered - shed) / seconds, 1) if seconds else 0.0,
        "stock": on_hand,
        "reserved": reserved,
        "accepted": held,
        "refused": answered - held - shed,
        "shed": shed,
        "oversold": max(0, reserved - on_hand),
        "statuses": {str(s): n for s, n in sorted(statuses.items())},
    }


def _databases() -> list[str]:
    return [f"{service.database}{DATABASE_SUFFIX}" for service in registry.SERVICES]


async def end_to_end(stack: Stack, timing: Timing, target_rate: float = 100) -> dict[str, Any]:
    """Orders placed at fixed rates, doubling from `timing.e2e_first_rate` until the backlog
    grows, then once between the last flat rate (or none) and the first growing one; and
    always at `target_rate`. Placed -> routed latency at each, the highest flat rate, and
    the CPU each process group spent per routed order, from the first planned send until
    the stack is idle again."""
    points: list[dict[str, Any]] = []
    async with pacer() as generator, watching() as watch:

        async def measure(rate: float, seconds: float) -> dict[str, Any]:
            await settle(stack)
            found = await _measured(stack, generator, watch, rate, seconds, timing)
            points.append(found)
            print(f"end to end at {rate:g}/s: {_brief(found)}", flush=True)
            return found

        rate, flat, bent = timing.e2e_first_rate, 0.0, 0.0
        while rate <= timing.e2e_top_rate:
            if (await measure(rate, timing.e2e_s))["backlog_flat"]:
                flat, rate = rate, rate * 2
            else:
                bent = rate
                break
        middle = round((flat + bent) / 2)
        untried = bent and middle > 0 and all(p["rate"] != middle for p in points)
        if untried and (await measure(middle, timing.e2e_s))["backlog_flat"]:
            flat = middle
        if all(p["rate"] != target_rate for p in points):
            # Beyond what it can take: a shorter window, so the queue it builds drains in time.
            await measure(target_rate, min(timing.e2e_s, 10))
    points.sort(key=lambda p: p["rate"])
    chosen = cpu_point(points, target_rate)
    cost = None
    if chosen is not None:
        cost = {"rate": chosen["rate"], "orders": chosen["routed"], **chosen["cpu"]}
    return {"max_flat_rate": flat, "points": points, "cpu": cost}


async def _measured(
    stack: Stack, generator: Pacer, watch: RoutedWatch, rate: float, seconds: float, timing: Timing
) -> dict[str, Any]:
    def groups() -> dict[str, list[int]]:
        return cpu.groups_of(
            stack.service_pids(), databases=_databases(), load_generator=[generator.pid]
        )

    # The stack has just settled: what it uses now, doing nothing, is its idle rate.
    before, started = cpu.read(groups()), time.monotonic()
    await asyncio.sleep(IDLE_SAMPLE_S)
    idle_s = time.monotonic() - started
    idle = {g: s / idle_s for g, s in cpu.read(groups()).minus(before).items()}
    before, started = cpu.read(groups()), time.monotonic()
    spec = order_spec(stack, rate=rate, seconds=seconds, want_ids=True)
    point = await at_rate(generator, watch, spec, drain_s=timing.e2e_drain_s)
    await settle(stack)
    used, window = cpu.read(groups()).minus(before), time.monotonic() - started
    worked = cpu.above_idle(used, idle, window, groups=SERVICES)
    found = point.summary(watch)
    found["cpu"] = {
        "seconds": round(window, 1),
        "used_s": {group: round(s, 3) for group, s in used.items()},
        "idle_share": {group: round(share, 4) for group, share in idle.items()},
        "ms_per_order": cpu.per_order_ms(worked, found["routed"], services=SERVICES),
    }
    found["cpu_ms_per_order"] = found["cpu"]["ms_per_order"].get(cpu.SERVICES_SUM)
    return found


def _brief(point: dict[str, Any]) -> str:
    keys = ("placed", "refused", "routed", "unrouted", "p50_ms", "p99_ms", "backlog_slope")
    shown = {key: point[key] for key in keys}
    return f"{shown}, flat {point['backlog_flat']}, {point['cpu_ms_per_order']} ms CPU/order"


async def overload(stack: Stack, timing: Timing) -> dict[str, Any]:
    """`timing.overload_rate` orders a second for `timing.overload_s` (far beyond capture's
    rate): how the answers end, then whether every accepted order was routed exactly once."""
    await settle(stack)
    async with pacer() as generator, watching() as watch:
        spec = order_spec(
            stack, rate=timing.overload_rate, seconds=timing.overload_s, want_ids=True
        )
        run = await generator.run(spec)
        accepted = {a.order_id for a in run.answers if a.status == 201 and a.order_id}
        waited = await watch.drain(
            accepted,
            lambda o: o in watch.routings or o in watch.stopped,
            timeout_s=timing.overload_drain_s,
        )
        if all(o in watch.routings or o in watch.stopped for o in accepted):
            # A second routing of the same order would come later than the first: wait for
            # the stack to be idle (at most as long again as the drain, and a minute) first.
            await settle(stack, timeout_s=min(60.0, max(5.0, waited)))
        counts = watch.routing_counts(accepted)
    return overloaded.summarize(run, counts, drain_seconds=waited)


async def growth(stack: Stack, timing: Timing) -> dict[str, Any]:
    """Capture flat out (figure 1) and availability (figure 3) with the databases grown to
    each of `timing.growth_orders` orders, with `timing.growth_skus` more SKUs in stock."""
    urls = {name: libpq_url(name) for name in stack.processes}
    # The orders to copy: placed and routed like any other (the stage measures nothing).
    await open_loop(order_spec(stack, rate=20, seconds=5))
    await settle(stack)
    templates = await grow.templates(urls["orchestration"])
    sku_seconds = await grow.grow_skus(urls["inventory"], LOCATIONS, sku_count=timing.growth_skus)
    stages: dict[str, dict[str, Any]] = {}
    copies = 0
    for name, orders in zip(("small", "large"), timing.growth_orders, strict=True):
        more = max(0, orders - await grow.count_orders(urls["order_capture"]))
        seconds = await grow.grow_orders(urls, templates, first=copies + 1, last=copies + more)
        copies += more
        print(f"growth: {orders:,} orders ({more:,} copied in {seconds:.0f} s)", flush=True)
        runs = []
        for _ in range(timing.growth_saturations):
            await settle(stack)
            runs.append(await saturate(stack, timing))
        ranked = sorted(runs, key=lambda run: run.rate_of(201))
        saturated = ranked[(len(ranked) - 1) // 2]  # the median run (the lower of two)
        await settle(stack)
        found = await availability(stack, timing)
        stages[name] = {
            "orders": orders,
            "orders_in_db": await grow.count_orders(urls["order_capture"]),
            "skus": await grow.count_skus(urls["inventory"]),
            "copy_seconds": round(seconds, 1),
            "capture_max_rate": round(saturated.rate_of(201), 1),
            "capture_runs": [round(run.rate_of(201), 1) for run in runs],
            "capture": saturated.summary("max (closed loop), the median run"),
            "availability_50_p99_ms": found["50"]["p99_ms"],
            "availability": found,
        }
    small, large = (stages[name]["capture_max_rate"] for name in ("small", "large"))
    return {
        "skus_added": timing.growth_skus,
        "sku_seconds": round(sku_seconds, 1),
        "templates": len(templates),
        **stages,
        "capture_drop": round(1 - large / small, 3) if small else None,
    }
