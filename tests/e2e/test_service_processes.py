"""A service as several processes (`<PREFIX>_PROCESSES`): one port, one consumer group with
the partitions split, one relay leading; stopped whole by SIGTERM, and down whole when one of
its processes dies. Returns stands in for any service: it is the one the others need least
while it is away."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ServiceProcess, Stack
from tests.support.environment import RUN_ID
from tests.support.polling import eventually

MEMORY_LIMIT_MB = 150


APART_NICE = 7


@contextlib.asynccontextmanager
async def returns_in_two_processes(
    stack: Stack, env: dict[str, str], log_name: str
) -> AsyncIterator[ServiceProcess]:
    """Returns started with `env` (two processes under a supervisor) in place of the stack's
    own, once both processes have started; the stack's own again afterwards."""
    normal = stack["returns"]
    await normal.stop()
    service = ServiceProcess("returns", env=env, log_name=log_name)
    service.start()
    try:
        await service.wait_healthy()  # one process answers: the other may still be starting
        await eventually(
            lambda: asyncio.to_thread(lambda: started(service)),
            until=lambda found: found == {1, 2},
            timeout=60,
            what="both processes started",
        )
        yield service
    finally:
        await service.stop()
        normal.start()
        await normal.wait_healthy()


@pytest.fixture
async def two(stack: Stack) -> AsyncIterator[ServiceProcess]:
    """Returns as two whole processes under a supervisor."""
    env = {
        "RETURNS_PROCESSES": "2",
        # Static members: each process must be a member of its own.
        "RETURNS_KAFKA_GROUP_INSTANCE_ID": f"returns-{RUN_ID}",
    }
    async with returns_in_two_processes(stack, env, "returns-two-processes") as pair:
        yield pair


@pytest.fixture
async def apart(stack: Stack) -> AsyncIterator[ServiceProcess]:
    """Returns as one HTTP process with its consumer in a process of its own."""
    env = {
        "RETURNS_PROCESSES": "1",
        "RETURNS_CONSUMER_APART": "true",
        "RETURNS_CONSUMER_APART_NICE": str(APART_NICE),
        "RETURNS_KAFKA_GROUP_INSTANCE_ID": f"returns-apart-{RUN_ID}",
    }
    async with returns_in_two_processes(stack, env, "returns-consumer-apart") as service:
        yield service


def started(service: ServiceProcess) -> set[Any]:
    return {ln.get("process") for ln in service.log_lines() if ln.get("event") == "service.started"}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


def last_assignments(lines: list[dict[str, Any]]) -> dict[Any, set[str]]:
    """Each process's partitions, as its consumer last logged them."""
    found: dict[Any, set[str]] = {}
    for line in lines:
        if line.get("event") == "consumer.assigned":
            found[line.get("process")] = set(line["partitions"])
    return found


async def exited(process: ServiceProcess) -> int:
    assert process.process is not None
    popen = process.process
    code: int | None = await eventually(
        lambda: asyncio.to_thread(popen.poll),
        until=lambda c: c is not None,
        timeout=30,
        what="the supervisor exited",
    )
    assert code is not None
    return code


class TestSeveralProcesses:
    async def test_two_processes_serve_one_port_split_the_partitions_and_elect_one_relay(
        self, two: ServiceProcess, http: httpx.AsyncClient
    ) -> None:
        children = two.children()
        assert len(children) == 2

        answers = await asyncio.gather(
            *(http.get(f"{two.url}/v1/returns", params={"limit": 1}) for _ in range(20))
        )
        assert {r.status_code for r in answers} == {200}

        # Both consume, each its own share of every partition returns reads. The first to
        # join held every partition until the second's rebalance, and logs its new share a
        # moment after the second logs its own: read until both have logged the settled split
        # (shares that stay overlapping fail the wait and the assertion).
        split = await eventually(
            lambda: asyncio.to_thread(lambda: last_assignments(two.log_lines())),
            until=lambda found: (
                set(found) == {1, 2} and all(found.values()) and not found[1] & found[2]
            ),
            timeout=60,
            what="both processes assigned partitions of their own",
        )
        assert not split[1] & split[2]
        leaders = [
            ln["process"] for ln in two.log_lines() if ln.get("event") == "outbox.relay.leading"
        ]
        assert len(leaders) == 1, leaders

        for pid in children:
            assert peak_rss_mb(pid) <= MEMORY_LIMIT_MB, f"process {pid}"
        assert peak_rss_mb(two.process.pid) <= MEMORY_LIMIT_MB  # type: ignore[union-attr]

    async def test_a_scrape_of_either_process_reports_the_whole_service(
        self, two: ServiceProcess
    ) -> None:
        """The children share their metric values (libs.observability.metrics): whichever
        child the kernel hands a scrape's connection to, it counts every child's requests."""

        async def fresh_get(path: str) -> httpx.Response:
            async with httpx.AsyncClient(timeout=5) as fresh:  # a new connection: either child
                return await fresh.get(f"{two.url}{path}")

        for _ in range(30):
            assert (await fresh_get("/healthz")).status_code == 200
        seen = []
        for _ in range(6):
            scrape = await fresh_get("/metrics")
            assert scrape.status_code == 200
            families = {f.name: f for f in text_string_to_metric_families(scrape.text)}
            seen.append(
                sum(
                    sample.value
                    for sample in families["oms_http_request_duration_seconds"].samples
                    if sample.name.endswith("_count") and sample.labels["route"] == "/healthz"
                )
            )
            # Values from the shared files, not one process's memory (which has these).
            assert "process_cpu_seconds" not in families
        assert seen == [30] * 6

    async def test_sigterm_stops_every_process(self, two: ServiceProcess) -> None:
        children = two.children()
        assert two.process is not None

        two.process.send_signal(signal.SIGTERM)

        assert await exited(two) == 0
        assert not [pid for pid in children if _alive(pid)]
        finished = [
            ln["process"]
            for ln in two.log_lines()
            if str(ln.get("event")).startswith("Finished server process")
        ]
        assert sorted(finished) == [1, 2], "each process shut down cleanly"

    async def test_a_process_that_dies_takes_the_whole_service_down(
        self, two: ServiceProcess
    ) -> None:
        first, second = two.children()

        os.kill(first, signal.SIGKILL)

        assert await exited(two) == 128 + signal.SIGKILL
        assert not _alive(second)
        (death,) = [
            ln for ln in two.log_lines() if ln.get("event") == "service.supervisor.child_exited"
        ]
        assert death["pid"] == first


class TestConsumerApart:
    async def test_the_consumer_runs_alone_at_its_own_nice_and_http_without_it(
        self, apart: ServiceProcess, http: httpx.AsyncClient
    ) -> None:
        serving, consuming = apart.children()

        answers = await asyncio.gather(
            *(http.get(f"{apart.url}/v1/returns", params={"limit": 1}) for _ in range(10))
        )
        assert {r.status_code for r in answers} == {200}
        parts = {
            ln["process"]: ln["parts"]
            for ln in apart.log_lines()
            if ln.get("event") == "service.started"
        }
        assert parts == {1: ["api", "relay", "jobs"], 2: ["consumer"]}
        assigned = await eventually(
            lambda: asyncio.to_thread(lambda: last_assignments(apart.log_lines())),
            until=lambda found: bool(found.get(2)),
            timeout=60,
            what="the consumer apart assigned partitions",
        )
        assert set(assigned) == {2}, "only the consumer apart is in the group"
        assert _nice(consuming) == APART_NICE
        assert _nice(serving) == int(os.environ.get("RETURNS_CPU_NICE", "0"))


def _nice(pid: int) -> int:
    # /proc/<pid>/stat: the 19th field is the nice value (the 17th after the command's ")").
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
