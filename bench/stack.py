"""The four services as `make run` runs them (one process each, every part), for a benchmark.

They use the test databases, migrated from scratch, and a topic prefix of their own, with a
signing key made for the run, so a benchmark never touches a `make run` stack's data. Write
rate limits are lifted: the benchmark is one client sending as fast as the stack can take.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from libs.auth.scopes import Scope
from libs.auth.settings import AuthSettings
from libs.auth.tokens import bearer
from libs.messaging.admin import delete_topics_with_prefix, ensure_topics
from tests.support import environment

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / ".local" / "bench-logs"
TEST_ONLY_KNOBS = (
    "RELAY_POLL_INTERVAL_S",
    "CONSUMER_RETRY_BACKOFF_S",
    "DATABASE_POOL_SIZE",
    "WORKER_INTERVAL_S",
    "LOCATIONS_CACHE_S",
)


@dataclass
class Stack:
    urls: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """A back-office token: every scope, no narrowing."""
        return bearer(AuthSettings().mint(client_id="bench", scopes=[Scope.ADMIN], ttl_s=6 * 3600))

    def sample_memory(self) -> None:
        for name, process in self.processes.items():
            rss = _rss_mb(process.pid)
            self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0.0), rss)


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


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settle(stack: Stack, *, idle_share: float = 0.05, timeout_s: float = 300) -> float:
    """Wait until every service is idle (under `idle_share` of a core for a second): the
    work an earlier scenario left queued (sagas, events) must not be measured in the next
    one. Returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = {name: _cpu_seconds(p.pid) for name, p in stack.processes.items()}
        await asyncio.sleep(1)
        busy = max(_cpu_seconds(p.pid) - before[name] for name, p in stack.processes.items())
        if busy < idle_share:
            break
    return time.monotonic() - started


async def watch_memory(stack: Stack, interval_s: float = 0.5) -> None:
    while True:
        stack.sample_memory()
        await asyncio.sleep(interval_s)


@asynccontextmanager
async def running_stack() -> AsyncIterator[Stack]:
    environment.apply()
    for prefix, _port in environment.SERVICES.values():
        os.environ[f"{prefix}_LOG_LEVEL"] = os.environ.get("OMS_BENCH_LOG_LEVEL", "INFO")
        # The test environment polls fast and keeps small pools so tests finish quickly; a
        # benchmark measures what `make run` runs: the services' own defaults.
        for knob in TEST_ONLY_KNOBS:
            os.environ.pop(f"{prefix}_{knob}", None)
    await asyncio.to_thread(environment.migrate_from_scratch)
    await ensure_topics(
        bootstrap_servers=environment.BOOTSTRAP_SERVERS, prefix=environment.TOPIC_PREFIX
    )
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
        await delete_topics_with_prefix(
            bootstrap_servers=environment.BOOTSTRAP_SERVERS, prefix=environment.TOPIC_PREFIX
        )


def _start_services() -> dict[str, subprocess.Popen[bytes]]:
    (LOG_DIR / "profiles").mkdir(parents=True, exist_ok=True)
    processes = {}
    for name in environment.SERVICES:
        with (LOG_DIR / f"{name}.log").open("wb") as log:
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                cwd=ROOT,
                env=dict(os.environ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    return processes


def _stop_services(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


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
