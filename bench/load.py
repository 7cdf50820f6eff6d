"""The load generator: open loop at a fixed rate, closed loop for the highest sustained rate.

Open loop sends request i at start + i/rate whether or not earlier ones have answered, and
measures each latency from that planned moment, not from when it was actually sent: a server
that stalls cannot hide its stall by slowing the generator down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

# One request: given its sequence number, send it and return the HTTP status.
Send = Callable[[int], Awaitable[int]]


@dataclass
class Run:
    # From the first planned request to the last answer: a run whose answers lag behind
    # its offered rate shows a lower achieved rate, not the offered one.
    seconds: float
    offered: float | None  # requests/s asked for (None: closed loop)
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0  # transport errors (no HTTP answer)

    @property
    def achieved(self) -> float:
        return len(self.latencies_s) / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.failures + sum(n for status, n in self.statuses.items() if status >= 400)

    def percentile_ms(self, p: float) -> float:
        return percentile(self.latencies_s, p) * 1000

    def summary(self, label: str) -> dict[str, Any]:
        return {
            "label": label,
            "offered": round(self.offered, 1) if self.offered is not None else None,
            "achieved": round(self.achieved, 1),
            "p50_ms": round(self.percentile_ms(50), 2),
            "p95_ms": round(self.percentile_ms(95), 2),
            "p99_ms": round(self.percentile_ms(99), 2),
            "errors": self.errors,
            "requests": len(self.latencies_s),
        }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (what load tools report); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


async def _timed(send: Send, n: int, planned: float, run: Run) -> None:
    try:
        status = await send(n)
    except Exception:
        run.failures += 1
        return
    run.latencies_s.append(time.perf_counter() - planned)
    run.statuses[status] = run.statuses.get(status, 0) + 1


async def open_loop(send: Send, *, rate: float, seconds: float, first: int = 0) -> Run:
    """`rate` requests a second for `seconds`; waits for the stragglers before returning."""
    run = Run(seconds=seconds, offered=rate)
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        planned = start + i / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_timed(send, first + i, planned, run)))
    await asyncio.gather(*tasks)
    run.seconds = time.perf_counter() - start
    return run


async def closed_loop(send: Send, *, concurrency: int, seconds: float, first: int = 0) -> Run:
    """`concurrency` workers, each sending its next request when the last one answered."""
    run = Run(seconds=seconds, offered=None)
    start = time.perf_counter()
    deadline = start + seconds
    counter = iter(range(first, first + 10**9))

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await _timed(send, next(counter), time.perf_counter(), run)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - start
    return run
