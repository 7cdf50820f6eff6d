"""The benchmark scenarios on a running stack: order capture, end to end, availability, the hot
SKU and growth."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from bench import growth as grow
from bench.end_to_end import at_rate, watching
from bench.load import Run, closed_loop, open_loop
from bench.profile import reduce, start_recording
from bench.stack import LOG_DIR, Stack, libpq_url, settle
from tests.support.orders import order_body

LOCATIONS = [f"BENCH-L{n:03d}" for n in range(100)]
PROFILE_DIR = LOG_DIR / "profiles"
SKUS = [f"BENCH-SKU-{n:04d}" for n in range(200)]


@dataclass(frozen=True)
class Timing:
    """How long each measurement runs; `quick` is for trying the harness, not for figures."""

    saturate_s: float = 15
    point_s: float = 10
    concurrency: int = 32
    e2e_s: float = 20  # placing window of each end-to-end rate
    e2e_drain_s: float = 120  # how long the last orders of a rate may take to be routed
    e2e_first_rate: float = 10
    growth_orders: tuple[int, int] = (10_000, 1_000_000)
    growth_skus: int = 100_000

    @classmethod
    def quick(cls) -> Timing:
        return cls(
            saturate_s=3,
            point_s=2,
            concurrency=16,
            e2e_s=3,
            e2e_drain_s=20,
            growth_orders=(1_000, 5_000),
            growth_skus=1_000,
        )


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


def three_line_order(n: int) -> dict[str, Any]:
    picked = random.sample(SKUS, 3)
    return order_body(
        [(sku, random.randint(1, 3), f"{random.randint(5, 80)}.99") for sku in picked],
        channel_order_ref=f"BENCH-{uuid.uuid4().hex[:16]}",
    )


def placing(http: httpx.AsyncClient) -> Any:
    """A Send for bench.load: POST /v1/orders, 3 lines and a fresh Idempotency-Key."""

    async def place(n: int) -> int:
        r = await http.post(
            "/v1/orders",
            json=three_line_order(n),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        return r.status_code

    return place


async def saturate(http: httpx.AsyncClient, timing: Timing) -> Run:
    """Capture flat out: `timing.concurrency` clients, each placing its next order as soon as
    the last one was answered."""
    return await closed_loop(
        placing(http), concurrency=timing.concurrency, seconds=timing.saturate_s
    )


async def capture(stack: Stack, timing: Timing) -> dict[str, Any]:
    """POST /v1/orders, 3 lines and an Idempotency-Key each: the highest sustained rate
    (closed loop), then p50/p95/p99 at 25, 50 and 75 % of it and at 500 orders/s."""
    async with client(stack, "order_capture", timing.concurrency * 4) as http:
        place = placing(http)

        # Every service is profiled while capture runs flat out (py-spy samples from outside
        # the process; --nonblocking, so the profiled service is never paused).
        recordings = {
            name: (
                PROFILE_DIR / f"{name}.txt",
                start_recording(
                    process.pid, PROFILE_DIR / f"{name}.txt", int(timing.saturate_s) - 1
                ),
            )
            for name, process in stack.processes.items()
        }
        saturated = await saturate(http, timing)
        profiles = []
        for name, (path, recording) in recordings.items():
            await asyncio.to_thread(recording.wait)
            if path.exists():
                profiles.append(reduce(name, path.read_text()).to_dict())
        max_rate = saturated.achieved
        points = [saturated.summary("max (closed loop)")]
        for share in (0.25, 0.5, 0.75):
            await settle(stack)
            run = await open_loop(place, rate=max_rate * share, seconds=timing.point_s)
            points.append(run.summary(f"{round(share * 100)}%"))
        await settle(stack)
        run = await open_loop(place, rate=500, seconds=timing.point_s)
        points.append(run.summary("500/s"))
    return {"max_rate": round(max_rate, 1), "points": points, "profiles": profiles}


async def availability(stack: Stack, timing: Timing, rate: float = 20) -> dict[str, Any]:
    """GET /v1/availability for 10 and for 50 SKUs, each held at all 100 locations."""
    found: dict[str, Any] = {}
    async with client(stack, "inventory") as http:
        for count in (10, 50):

            async def ask(n: int, count: int = count) -> int:
                skus = ",".join(random.sample(SKUS, count))
                return (await http.get("/v1/availability", params={"skus": skus})).status_code

            run = await open_loop(ask, rate=rate, seconds=timing.point_s)
            summary = run.summary(f"{count} SKUs")
            found[str(count)] = summary | {"rate": summary["achieved"]}
    return found


async def hot_sku(stack: Stack, *, attempts: int = 200, stock: int = 150) -> dict[str, Any]:
    """`attempts` reservations of one unit of one SKU, all at once, with `stock` units."""
    sku, location = f"HOT-{uuid.uuid4().hex[:8]}", LOCATIONS[0]
    async with client(stack, "inventory", attempts) as http:
        r = await http.put(f"/v1/locations/{location}/stock/{sku}", json={"on_hand": stock})
        assert r.status_code == 200, r.text
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
        statuses = await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        level = (await http.get(f"/v1/stock/{sku}")).json()
    reserved = sum(loc["reserved"] for loc in level["locations"])
    on_hand = sum(loc["on_hand"] for loc in level["locations"])
    held = sum(1 for s in statuses if s in (200, 201))
    return {
        "reservations": attempts,
        "concurrency": attempts,
        "seconds": round(elapsed, 3),
        "per_second": round(attempts / elapsed, 1),
        "stock": on_hand,
        "reserved": reserved,
        "accepted": held,
        "refused": attempts - held,
        "oversold": max(0, reserved - on_hand),
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }


async def end_to_end(stack: Stack, timing: Timing, target_rate: float = 200) -> dict[str, Any]:
    """Orders placed at fixed rates, doubling from `timing.e2e_first_rate` until the backlog
    grows, then once between the last flat rate and the first growing one; and always at
    `target_rate`. Placed -> routed latency at each, and the highest flat rate."""
    points: list[dict[str, Any]] = []
    async with client(stack, "order_capture", 256) as http, watching() as watch:

        async def measure(rate: float, seconds: float) -> dict[str, Any]:
            await settle(stack)
            point = await at_rate(
                http,
                watch,
                lambda: three_line_order(0),
                rate=rate,
                seconds=seconds,
                drain_s=timing.e2e_drain_s,
            )
            found = point.summary(watch)
            points.append(found)
            print(f"end to end at {rate:g}/s: {found}", flush=True)
            return found

        rate, flat, bent = timing.e2e_first_rate, 0.0, 0.0
        while rate <= 2 * target_rate:
            if (await measure(rate, timing.e2e_s))["backlog_flat"]:
                flat, rate = rate, rate * 2
            else:
                bent = rate
                break
        if flat and bent:
            middle = round((flat + bent) / 2)
            if (await measure(middle, timing.e2e_s))["backlog_flat"]:
                flat = middle
        if all(p["rate"] != target_rate for p in points):
            # Beyond what it can take: a shorter window, so the queue it builds drains in time.
            await measure(target_rate, min(timing.e2e_s, 10))
    return {"max_flat_rate": flat, "points": sorted(points, key=lambda p: p["rate"])}


async def growth(stack: Stack, timing: Timing) -> dict[str, Any]:
    """Capture flat out (figure 1) and availability (figure 3) with the databases grown to
    each of `timing.growth_orders` orders, with `timing.growth_skus` more SKUs in stock."""
    urls = {name: libpq_url(name) for name in stack.processes}
    async with client(stack, "order_capture") as http:
        # The orders to copy: placed and routed like any other (the stage measures nothing).
        place = placing(http)
        await asyncio.gather(*(place(n) for n in range(100)))
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
        await settle(stack)
        async with client(stack, "order_capture", timing.concurrency * 4) as http:
            saturated = await saturate(http, timing)
        await settle(stack)
        found = await availability(stack, timing)
        stages[name] = {
            "orders": orders,
            "orders_in_db": await grow.count_orders(urls["order_capture"]),
            "skus": await grow.count_skus(urls["inventory"]),
            "copy_seconds": round(seconds, 1),
            "capture_max_rate": round(saturated.achieved, 1),
            "capture": saturated.summary("max (closed loop)"),
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
