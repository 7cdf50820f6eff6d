"""The services (libs.registry) as `make run` runs them, for a benchmark.

They use the test databases, migrated from scratch, and a topic prefix of their own, with a
signing key made for the run, so a benchmark never touches a `make run` stack's data. Every
setting is the services' default, the write limits too (the test suite lifts them); the one
exception is said in the report: the benchmark's own client id has an explicit write allowance
(`<PREFIX>_WRITE_RATE_PER_CLIENT`), as an integration client carrying a whole peak would.
A service may run several processes: memory, CPU and idleness are read over each service's
process and all its descendants.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import cpu
from bench.cpu import descendants_of
from libs import registry
from libs.auth.scopes import Scope
from libs.auth.settings import AuthSettings
from libs.auth.tokens import bearer
from libs.config import shared_host_consumer_apart, shared_host_nice, shared_host_processes
from libs.messaging.admin import ONE_BROKER, delete_topics_with_prefix, ensure_topics
from tests.support import environment
from tests.support.mailbox import start_sink_process, wait_listening

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / ".local" / "bench-logs"
TEST_ONLY_KNOBS = (
    "RELAY_POLL_INTERVAL_S",
    "CONSUMER_RETRY_BACKOFF_S",
    "DATABASE_POOL_SIZE",
    "WORKER_INTERVAL_S",
    "PROCESSES",
    "WORKER_LEASE_S",
    "ROUTING_GRACE_S",
    "HTTP_MAX_IN_FLIGHT",
    "WRITE_RATE_PER_S",
    "WRITE_BURST",
    "SELF_SERVICE_RATE_PER_MIN",
    "SELF_SERVICE_BURST",
)
CLIENT_ID = "bench"
# The benchmark is one client standing for every client of a peak: a closed loop may pass
# 1,000 orders a second (the default per client) on a fast machine, and the report must show
# the services' own limit (503 overloaded), not the per-client one (429).
CLIENT_ALLOWANCE = {"rate_per_s": 100_000, "burst": 100_000}


@dataclass
class Stack:
    urls: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    # The highest RSS any one process of a service reached (not their sum: the target is
    # per process), and the most processes a service was seen running at once.
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    process_counts: dict[str, int] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """A back-office token: every scope, no narrowing."""
        token = AuthSettings().mint(client_id=CLIENT_ID, scopes=[Scope.ADMIN], ttl_s=6 * 3600)
        return bearer(token)

    def pids(self) -> dict[str, list[int]]:
        """Each service's processes: the one the benchmark started and its descendants."""
        started = self.service_pids()
        descendants = descendants_of(started.values())
        return {name: [pid, *descendants[pid]] for name, pid in started.items()}

    def service_pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def sample_memory(self) -> None:
        for name, pids in self.pids().items():
            rss = max((_rss_mb(pid) for pid in pids), default=0.0)
            self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0.0), rss)
            self.process_counts[name] = max(self.process_counts.get(name, 0), len(pids))


def libpq_url(service: str) -> str:
    """The service's benchmark database, as libpq and asyncpg spell it."""
    return environment.database_url_for(service).replace("postgresql+asyncpg://", "postgresql://")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def settle(stack: Stack, *, idle_share: float = 0.05, timeout_s: float = 900) -> float:
    """Wait until every service is idle (all its processes together under `idle_share` of a
    core for a second): the work an earlier scenario left queued (sagas, events) must not be
    measured in the next one. Capture's saturation run leaves thousands of placed orders to
    route, minutes of work: a shorter wait had the next scenario measured behind them. Says
    so when it waited long or gave up. Returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        groups = stack.pids()
        before = cpu.read(groups)
        await asyncio.sleep(1)
        if max(cpu.read(groups).minus(before).values()) < idle_share:
            waited = time.monotonic() - started
            if waited > 30:
                print(f"settled after {waited:.0f} s", flush=True)
            return waited
    print(
        f"NOT settled after {timeout_s:.0f} s: the next figures include leftover work", flush=True
    )
    return time.monotonic() - started


async def watch_memory(stack: Stack, interval_s: float = 0.5) -> None:
    while True:
        stack.sample_memory()
        await asyncio.sleep(interval_s)


@asynccontextmanager
async def running_stack() -> AsyncIterator[Stack]:
    environment.apply()
    for name, (prefix, _port) in environment.SERVICES.items():
        os.environ[f"{prefix}_LOG_LEVEL"] = os.environ.get("OMS_BENCH_LOG_LEVEL", "INFO")
        # The test environment polls fast and keeps small pools so tests finish quickly; a
        # benchmark measures what `make run` runs: the services' own defaults.
        for knob in TEST_ONLY_KNOBS:
            os.environ.pop(f"{prefix}_{knob}", None)
        os.environ[f"{prefix}_WRITE_RATE_PER_CLIENT"] = json.dumps({CLIENT_ID: CLIENT_ALLOWANCE})
        # As many processes as `make run` starts on this machine (deploy/local/run.sh).
        os.environ[f"{prefix}_PROCESSES"] = str(shared_host_processes(name))
        os.environ[f"{prefix}_CPU_NICE"] = str(shared_host_nice(name))
        os.environ[f"{prefix}_CONSUMER_APART"] = str(shared_host_consumer_apart(name)).lower()
    await asyncio.to_thread(environment.migrate_from_scratch)
    await ensure_topics(
        bootstrap_servers=environment.BOOTSTRAP_SERVERS,
        prefix=environment.TOPIC_PREFIX,
        layout=ONE_BROKER,
    )
    # notifications e-mails every order's customer: the development SMTP sink takes them, as
    # under `make run`, so the figures include what sending costs (without it every e-mail
    # was retried against a closed port, which costs something else).
    sink_dir = LOG_DIR / "mail" / environment.RUN_ID
    sink = start_sink_process(sink_dir, environment.MAIL_SINK_PORT, LOG_DIR / "mail_sink.log")
    await wait_listening(sink, environment.MAIL_SINK_PORT, LOG_DIR / "mail_sink.log")
    processes = _start_services()
    stack = Stack(
        urls={name: environment.base_url(name) for name in environment.SERVICES},
        processes=processes,
    )
    try:
        await _wait_ready(stack)
        yield stack
    finally:
        await asyncio.to_thread(_stop_services, processes)
        await asyncio.to_thread(_stop_services, {"mail_sink": sink})
        shutil.rmtree(sink_dir, ignore_errors=True)
        await delete_topics_with_prefix(
            bootstrap_servers=environment.BOOTSTRAP_SERVERS, prefix=environment.TOPIC_PREFIX
        )


def _start_services() -> dict[str, subprocess.Popen[bytes]]:
    (LOG_DIR / "profiles").mkdir(parents=True, exist_ok=True)
    processes = {}
    for name in environment.SERVICES:
        with (LOG_DIR / f"{name}.log").open("wb") as log:
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", registry.service(name).package],
                cwd=ROOT,
                env=dict(os.environ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    return processes


def _stop_services(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    # The service's own process stops its workers; only one that does not stop in time has
    # its whole process group (it leads one: start_new_session) killed.
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for process in processes.values():
        # Workers left behind by a service that stopped: the group outlives its leader.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


async def _wait_ready(stack: Stack, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as client:
        for name, url in stack.urls.items():
            while True:
                if stack.processes[name].poll() is not None:
                    raise SystemExit(f"{name} exited; see {LOG_DIR / name}.log")
                try:
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name} not ready after {timeout_s}s")
                await asyncio.sleep(0.2)
