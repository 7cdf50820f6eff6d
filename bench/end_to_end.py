"""End to end: orders placed at a fixed rate, and how long until each is routed.

"Routed" is the moment a subscriber sees the order's first `fulfillment_created` event on
orchestration's topic: by then its stock is reserved, its payment authorised and a location
holds its fulfilment order (an order may get one per location). The time runs from the POST's
planned send (bench.pacer), so a stack that falls behind cannot hide it by slowing the
generator down. "Routed exactly once" counts `order_routed` events (one per routing that held:
the plan was made and inventory reserved it) by distinct event id, so a redelivered copy of
one event is not a second routing.

The backlog is the number of orders offered but not yet routed, sampled twice a second. It is
flat when its least-squares slope over the second half of the placing window is under 5 % of
the offered rate: at most one order in twenty is left behind for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
import time
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer

from bench.load import Answer, Pacer, Run, percentile
from bench.pacer import Spec
from libs.messaging.topics import ORCHESTRATION_EVENTS
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import assign_whole_topic

ROUTED = "oms.orchestration.fulfillment_created"
ROUTING = "oms.orchestration.order_routed"
# Orders that end here were not routed: the benchmark counts them, it does not wait for them.
STOPPED = frozenset({"oms.orchestration.order_on_hold", "oms.orchestration.order_backordered"})
FLAT_SLOPE_SHARE = 0.05


@dataclass
class RoutedWatch:
    """Follows orchestration's events from the end of the topic, noting when each order was
    first seen routed (or stopped), and the distinct routings of each."""

    routed: dict[str, float] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)
    routings: dict[str, set[str]] = field(default_factory=dict)

    def take(self, value: bytes, seen_at: float) -> None:
        event = json.loads(value)
        order_id = str(event.get("data", {}).get("order_id", ""))
        kind = event.get("type")
        if kind == ROUTED:
            self.routed.setdefault(order_id, seen_at)
        elif kind == ROUTING:
            self.routings.setdefault(order_id, set()).add(str(event.get("id", "")))
        elif kind in STOPPED:
            self.stopped.setdefault(order_id, kind.rsplit(".", 1)[-1])

    def routing_counts(self, orders: Collection[str]) -> dict[str, int]:
        """How many of `orders` were routed 0, 1 and more than 1 times."""
        counts = [len(self.routings.get(order, ())) for order in orders]
        return {
            "never": counts.count(0),
            "once": counts.count(1),
            "more": sum(1 for n in counts if n > 1),
        }

    async def drain(
        self, orders: Collection[str], done: Callable[[str], bool], *, timeout_s: float
    ) -> float:
        """Waits until `done` holds for every one of `orders`, at most `timeout_s`; returns
        the seconds it waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if all(done(order) for order in orders):
                break
            await asyncio.sleep(0.2)
        return time.monotonic() - started


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
                seen_at = time.monotonic()
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
    start: float = math.inf  # CLOCK_MONOTONIC of the first planned send, once known
    placed: dict[str, float] = field(default_factory=dict)  # order id -> planned send
    refused: int = 0  # any end but 201: another status, a time-out, no answer
    samples: list[tuple[float, int]] = field(default_factory=list)  # (s since start, backlog)
    run: Run | None = None

    def take(self, answer: Answer) -> None:
        if answer.status == 201 and answer.order_id:
            self.placed[answer.order_id] = answer.planned
        else:
            self.refused += 1

    def offered_by(self, now: float) -> int:
        """Requests planned up to `now`."""
        if now < self.start:
            return 0
        return min(int(self.rate * self.seconds), math.floor((now - self.start) * self.rate) + 1)

    def sample(self, watch: RoutedWatch, now: float) -> None:
        routed = sum(1 for o in self.placed if o in watch.routed)
        self.samples.append((now - self.start, self.offered_by(now) - routed - self.refused))

    def summary(self, watch: RoutedWatch) -> dict[str, Any]:
        routed_at = [watch.routed[o] for o in self.placed if o in watch.routed]
        latencies = [watch.routed[o] - t for o, t in self.placed.items() if o in watch.routed]
        unrouted = len(self.placed) - len(latencies)
        slope = backlog_slope(self.samples)
        flat = slope <= FLAT_SLOPE_SHARE * self.rate and self.refused == 0
        # Orders routed a second, from the first planned send to the last routing seen.
        start = self.start if math.isfinite(self.start) else 0.0
        span = max(routed_at, default=start) - start
        found = {
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
            "routed_more_than_once": watch.routing_counts(self.placed)["more"],
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "max_backlog": max((b for _, b in self.samples), default=0),
            "backlog_slope": round(slope, 2),
            "backlog_flat": flat,
            "errors": self.refused + unrouted,
        }
        if self.run is not None:
            found["generator"] = self.run.cost()
        return found


async def at_rate(pacer: Pacer, watch: RoutedWatch, spec: Spec, *, drain_s: float) -> RatePoint:
    """Places orders as `spec` says (its rate for its seconds), then waits up to `drain_s`
    for the last of them to be routed."""
    point = RatePoint(rate=spec.rate, seconds=spec.seconds)

    def started(at: float) -> None:
        point.start = at

    async def sample() -> None:
        # Over the placing window only: the answers may come long after it, while the
        # backlog drains, and the slope is of the backlog building while orders arrive.
        while not math.isfinite(point.start) or time.monotonic() <= point.start + spec.seconds:
            if math.isfinite(point.start):
                point.sample(watch, time.monotonic())
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    try:
        point.run = await pacer.run(spec, point.take, on_start=started)
    finally:
        sampler.cancel()
    await watch.drain(
        point.placed, lambda o: o in watch.routed or o in watch.stopped, timeout_s=drain_s
    )
    return point


def cpu_point(points: list[dict[str, Any]], preferred: float) -> dict[str, Any] | None:
    """The rate whose CPU per routed order the report shows: `preferred` if every request
    there was placed and every order routed, else the highest rate where they all were. A
    rate that left orders unrouted, or requests timed out (the order may still have been
    placed, unseen), has spent CPU on orders it does not count."""
    complete = [
        p
        for p in points
        if p.get("cpu_ms_per_order") and p.get("placed") and not p["unrouted"] and not p["refused"]
    ]
    chosen = next((p for p in complete if p["rate"] == preferred), None)
    return chosen or max(complete, key=lambda p: p["rate"], default=None)
