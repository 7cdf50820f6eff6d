"""The benchmark scenarios: order capture, availability and the hot SKU, on a running stack."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from bench.load import closed_loop, open_loop
from bench.profile import reduce, start_recording
from bench.stack import LOG_DIR, Stack, settle
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

    @classmethod
    def quick(cls) -> Timing:
        return cls(saturate_s=3, point_s=2, concurrency=16)


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


async def capture(stack: Stack, timing: Timing) -> dict[str, Any]:
    """POST /v1/orders, 3 lines and an Idempotency-Key each: the highest sustained rate
    (closed loop), then p50/p95/p99 at 25, 50 and 75 % of it and at 500 orders/s."""
    async with client(stack, "order_capture", timing.concurrency * 4) as http:

        async def place(n: int) -> int:
            r = await http.post(
                "/v1/orders",
                json=three_line_order(n),
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            return r.status_code

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
        saturated = await closed_loop(
            place, concurrency=timing.concurrency, seconds=timing.saturate_s
        )
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
