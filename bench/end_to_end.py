"""End to end: orders placed at a fixed rate, and how long until each is routed.

"Routed" is the moment a subscriber sees the order's first `fulfillment_created` event on
orchestration's topic: by then its stock is reserved, its payment authorised and a location
holds its fulfilment order. The time runs from the POST's planned send (as in bench.load), so
a stack that falls behind cannot hide it by slowing the generator down.

The backlog is the number of orders offered but not yet routed, sampled twice a second. It is
flat when its least-squares slope over the second half of the placing window is under 5 % of
the offered rate: at most one order in twenty is left behind for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from bench.load import percentile
from libs.messaging.topics import ORCHESTRATION_EVENTS
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import assign_whole_topic

ROUTED = "oms.orchestration.fulfillment_created"
# Orders that end here were not routed: the benchmark counts them, it does not wait for them.
STOPPED = frozenset({"oms.orchestration.order_on_hold", "oms.orchestration.order_backordered"})
FLAT_SLOPE_SHARE = 0.05


@dataclass
class RoutedWatch:
    """Follows orchestration's events from the end of the topic, noting when each order was
    first seen routed (or stopped)."""

    routed: dict[str, float] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)

    def take(self, value: bytes, seen_at: float) -> None:
        event = json.loads(value)
        order_id = str(event.get("data", {}).get("order_id", ""))
        if event.get("type") == ROUTED:
            self.routed.setdefault(order_id, seen_at)
        elif event.get("type") in STOPPED:
            self.stopped.setdefault(order_id, event["type"].rsplit(".", 1)[-1])


@contextlib.asynccontextmanager
async def watching(topic: str = TOPIC_PREFIX + ORCHESTRATION_EVENTS) -> AsyncIterator[RoutedWatch]:
    watch = RoutedWatch()
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP_SERVERS, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await assign_whole_topic(consumer, topic)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolves the end offsets now, before any order is placed
            await consumer.position(tp)

        async def follow() -> None:
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                seen_at = time.perf_counter()
                for records in batch.values():
                    for record in records:
                        if record.value is not None:
                            watch.take(record.value, seen_at)

        task = asyncio.create_task(follow())
        try:
            yield watch
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await consumer.stop()


def backlog_slope(samples: list[tuple[float, int]]) -> float:
    """Orders per second the backlog grew by over the second half of the samples."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    return float(statistics.linear_regression([t for t, _ in half], [b for _, b in half]).slope)


@dataclass
class RatePoint:
    rate: float
    seconds: float
    start: float  # perf_counter of the first planned send
    placed: dict[str, float] = field(default_factory=dict)  # order id -> planned send
    refused: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)  # (s since start, backlog)

    def summary(self, watch: RoutedWatch) -> dict[str, Any]:
        routed_at = [watch.routed[o] for o in self.placed if o in watch.routed]
        latencies = [watch.routed[o] - t for o, t in self.placed.items() if o in watch.routed]
        unrouted = len(self.placed) - len(latencies)
        slope = backlog_slope(self.samples)
        flat = slope <= FLAT_SLOPE_SHARE * self.rate and self.refused == 0
        # Orders routed a second, from the first planned send to the last routing seen.
        span = max(routed_at, default=self.start) - self.start
        return {
            "label": f"{self.rate:g}/s",
            "rate": self.rate,
            "achieved": round(len(latencies) / span, 1) if span > 0 else 0.0,
            "seconds": self.seconds,
            "offered": int(self.rate * self.seconds),
            "placed": len(self.placed),
            "refused": self.refused,
            "routed": len(latencies),
            "stopped": sum(1 for o in self.placed if o in watch.stopped),
            "unrouted": unrouted,
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "max_backlog": max((b for _, b in self.samples), default=0),
            "backlog_slope": round(slope, 2),
            "backlog_flat": flat,
            "errors": self.refused + unrouted,
        }


async def at_rate(
    http: httpx.AsyncClient,
    watch: RoutedWatch,
    body: Any,
    *,
    rate: float,
    seconds: float,
    drain_s: float,
) -> RatePoint:
    """Places `rate` orders a second for `seconds`, then waits up to `drain_s` for the last
    of them to be routed."""
    start = time.perf_counter() + 0.05
    point = RatePoint(rate=rate, seconds=seconds, start=start)
    offered = 0

    async def place(planned: float) -> None:
        try:
            r = await http.post(
                "/v1/orders", json=body(), headers={"Idempotency-Key": str(uuid.uuid4())}
            )
        except httpx.HTTPError:
            point.refused += 1
            return
        if r.status_code == 201:
            point.placed[r.json()["id"]] = planned
        else:
            point.refused += 1

    async def sample() -> None:
        while True:
            now = time.perf_counter()
            routed = sum(1 for o in point.placed if o in watch.routed)
            point.samples.append((now - start, offered - routed - point.refused))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    tasks = []
    for i in range(int(rate * seconds)):
        planned = start + i / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        offered += 1
        tasks.append(asyncio.create_task(place(planned)))
    sampler.cancel()
    await asyncio.gather(*tasks)
    deadline = time.perf_counter() + drain_s
    while time.perf_counter() < deadline:
        if all(o in watch.routed or o in watch.stopped for o in point.placed):
            break
        await asyncio.sleep(0.2)
    return point
