"""The load generators as the scenarios use them: open loop through bench.pacer's process,
closed loop through wrk (bench.wrk); the figures of a run, and what generating it cost.

Open loop sends request i at start + i/rate whether or not earlier ones have answered, and
measures each latency from that planned moment, not from when it was actually sent: a server
that stalls cannot hide its stall by slowing the generator down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.pacer import FAILED, TIMEOUT, UNIQUE, Spec
from bench.wrk import generator_cost

ACCEPTED = (200, 201)


@dataclass(frozen=True)
class Answer:
    """How one request ended: an HTTP status, TIMEOUT or FAILED (no answer)."""

    n: int
    planned: float  # CLOCK_MONOTONIC seconds
    latency_s: float
    status: int
    retry_after: bool
    order_id: str


def parse_answer(line: str) -> Answer:
    """One of bench.pacer's answer lines."""
    n, planned, latency, status, flag, order_id = line.rstrip("\n").split("\t")
    return Answer(int(n), float(planned), float(latency), int(status), flag == "r", order_id)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (what load tools report); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Run:
    """One open-loop run: every request's end, and the generator's own report."""

    offered: float
    planned_seconds: float
    answers: list[Answer] = field(default_factory=list)
    generator: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """From the first planned send to the last answer: a run whose answers lag behind
        its offered rate shows a lower achieved rate, not the offered one."""
        return float(self.generator.get("seconds") or self.planned_seconds)

    def statuses(self) -> dict[int, int]:
        found: dict[int, int] = {}
        for answer in self.answers:
            found[answer.status] = found.get(answer.status, 0) + 1
        return found

    def count(self, *statuses: int) -> int:
        return sum(1 for a in self.answers if a.status in statuses)

    def latencies(self, statuses: Iterable[int] | None = None) -> list[float]:
        """Latencies of the answered requests (of `statuses` only, if given)."""
        wanted = None if statuses is None else set(statuses)
        return [
            a.latency_s
            for a in self.answers
            if a.status > 0 and (wanted is None or a.status in wanted)
        ]

    def summary(self, label: str, *, latency_of: Iterable[int] | None = None) -> dict[str, Any]:
        latencies = self.latencies(latency_of)
        answered = self.latencies()
        errors = sum(1 for a in self.answers if a.status not in ACCEPTED)
        return {
            "label": label,
            "offered": round(self.offered, 1),
            "achieved": round(self.count(*ACCEPTED) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p95_ms": round(percentile(latencies, 95) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
            "max_ms": round(max(answered, default=0.0) * 1000, 2),
            "errors": errors,
            "requests": len(self.answers),
            "statuses": {_status_name(s): n for s, n in sorted(self.statuses().items())},
            "timeouts": self.count(TIMEOUT),
            "generator": self.cost(),
        }

    def cost(self) -> dict[str, Any]:
        found = generator_cost(
            "bench.pacer",
            float(self.generator.get("cpu_s", 0.0)),
            len(self.answers),
            self.seconds,
        )
        for key in (
            "p99_send_lag_ms",
            "max_send_lag_ms",
            "connections_opened",
            "waited_for_connection",
            "connect_failures",
            "lost",
        ):
            if key in self.generator:
                found[key] = self.generator[key]
        return found


def _status_name(status: int) -> str:
    return {TIMEOUT: "timeout", FAILED: "no answer"}.get(status, str(status))


def templates(
    *,
    method: str,
    port: int,
    headers: Mapping[str, str],
    targets: Sequence[str],
    bodies: Sequence[str] = ("",),
    unique_key: bool = True,
) -> list[tuple[str, str]]:
    """bench.pacer's (head, body) templates: each target with each body, in turn. With
    `unique_key`, every request carries an Idempotency-Key of its own (the UNIQUE string)."""
    fields = {"host": f"127.0.0.1:{port}", **headers}
    if unique_key:
        fields["idempotency-key"] = UNIQUE
    header_text = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    count = max(len(targets), len(bodies))
    return [
        (f"{method} {targets[i % len(targets)]} HTTP/1.1\r\n{header_text}", bodies[i % len(bodies)])
        for i in range(count)
    ]


class Pacer:
    """One bench.pacer process: runs one spec after another; it stays up between runs (and
    after the last one, until closed), so its CPU can be read from /proc like the others'."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    async def run(
        self,
        spec: Spec,
        on_answer: Callable[[Answer], None] | None = None,
        *,
        on_start: Callable[[float], None] | None = None,
    ) -> Run:
        """One run; `on_start` hears the first planned send (CLOCK_MONOTONIC), `on_answer`
        each request's end as it comes."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(spec.to_json().encode() + b"\n")
        await stdin.drain()
        run = Run(offered=spec.rate, planned_seconds=spec.seconds)
        while True:
            line = (await stdout.readline()).decode()
            if not line:
                raise RuntimeError("bench.pacer ended without finishing its run")
            kind, _, rest = line.partition("\t")
            if kind == "start":
                if on_start is not None:
                    on_start(float(rest))
                continue
            if kind == "done":
                run.generator = json.loads(rest)
                return run
            answer = parse_answer(line)
            run.answers.append(answer)
            if on_answer is not None:
                on_answer(answer)


@contextlib.asynccontextmanager
async def pacer() -> AsyncIterator[Pacer]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.pacer",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**20,
    )
    try:
        yield Pacer(process)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def open_loop(spec: Spec, on_answer: Callable[[Answer], None] | None = None) -> Run:
    """One run in a process of its own."""
    async with pacer() as generator:
        return await generator.run(spec, on_answer)
