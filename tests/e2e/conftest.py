"""The four services as real processes on test ports, against the real broker and database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import Api, generated_clients
from tests.support.environment import (
    LOG_DIR,
    SERVICES,
    base_url,
    migrate_from_scratch,
    replica_port,
)
from tests.support.mailbox import Mailbox
from tests.support.polling import eventually
from tests.support.tokens import admin_headers

ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    def __init__(
        self, service: str, *, env: dict[str, str] | None = None, log_name: str | None = None
    ) -> None:
        self.service = service
        self.env = {**os.environ, **(env or {})}
        self.log_path = LOG_DIR / f"{log_name or service}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    @property
    def url(self) -> str:
        port = self.env[SERVICES[self.service][0] + "_HTTP_PORT"]
        return f"http://127.0.0.1:{port}"

    def start(self, *parts: str) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._log_start = log.tell()  # the file keeps earlier runs' lines
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.service}", *parts],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # A service is ready in 3-5 s on a quiet machine; make test's two shards may start their
    # stacks at once beside the other shard's tests, and a start then took over 30 s.
    async def wait_healthy(self, timeout: float = 60) -> None:
        async def probe() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.service} exited {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                async with httpx.AsyncClient(timeout=1) as c:
                    return (await c.get(self.url + "/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(probe, timeout=timeout, interval=0.2, what=f"{self.service} ready")

    def children(self) -> list[int]:
        """The pids of the processes the service's supervisor started (none with one process)."""
        assert self.process is not None
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return sorted(found)

    def log_lines(self) -> list[dict[str, Any]]:
        """The structured log lines of this start of the service so far (every process of it
        writes there)."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            text = log.read().decode(errors="replace")
        lines = []
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush, no commit; what a crash looks like."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    async def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        for _ in range(150):
            if self.process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        self.process.kill()
        self.process.wait(timeout=10)


Stack = dict[str, ServiceProcess]

# What the stack's services run with besides the run's environment: notifications sends to
# receivers on this machine (tests/support/webhooks.py) and retries within seconds, so a
# receiver that was down gets its deliveries while the test waits. Its claims lapse after 4 s
# rather than 60, so a process started after one was killed mid-delivery sends that delivery
# again while the test waits; still longer than an attempt's 2 s time-out, so a live
# process's delivery is never sent twice at once.
STACK_ENV: dict[str, dict[str, str]] = {
    "notifications": {
        "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "NOTIFICATIONS_WEBHOOK_RETRY_FIRST_S": "0.5",
        "NOTIFICATIONS_WEBHOOK_RETRY_CAP_S": "2",
        "NOTIFICATIONS_WEBHOOK_RETRY_FLOOR_S": "0.2",
        "NOTIFICATIONS_WEBHOOK_TIMEOUT_S": "2",
        "NOTIFICATIONS_DELIVERY_INTERVAL_S": "0.2",
        "NOTIFICATIONS_DELIVERY_LEASE_S": "4",
    }
}


@pytest.fixture(scope="session")
async def stack(
    migrated_databases: None, kafka_topics: str, mail_sink: Mailbox
) -> AsyncIterator[Stack]:
    # The mail sink first: the services' customer e-mails go there (tests.support.mailbox).
    # Empty databases again: the integration tests leave thousands of unpublished outbox rows
    # (about orders no service knows) that the stack's relays would otherwise send first.
    migrate_from_scratch()
    services = {name: ServiceProcess(name, env=STACK_ENV.get(name)) for name in SERVICES}
    for proc in services.values():
        proc.start()
    try:
        await asyncio.gather(*(proc.wait_healthy() for proc in services.values()))
        yield services
    finally:
        await asyncio.gather(*(proc.stop() for proc in services.values()))


Replicas = dict[str, list[ServiceProcess]]


def replica_env(service: str, replica: int) -> dict[str, str]:
    """What one more replica of `service` runs with: the stack's settings on a port of its
    own. Everything else that names an instance is its own already (a log file per replica,
    the metrics directory made new by each supervisor, the outbox relay elected by an advisory
    lock over the shared database); a static group member id, if the run sets one, would fence
    the other replica out of the consumer group, so it is made the replica's own."""
    prefix = SERVICES[service][0]
    env = {**STACK_ENV.get(service, {}), f"{prefix}_HTTP_PORT": str(replica_port(service, replica))}
    member = os.environ.get(f"{prefix}_KAFKA_GROUP_INSTANCE_ID")
    if member:
        env[f"{prefix}_KAFKA_GROUP_INSTANCE_ID"] = f"{member}-r{replica}"
    return env


@contextlib.asynccontextmanager
async def replicas_of(stack: Stack, count: int) -> AsyncIterator[Replicas]:
    """`count` replicas of every service: the stack's own processes as replica 1, and replicas
    2..count started beside them (own ports, same databases, consumer groups and topics), like
    `make run REPLICAS=n`. The extra replicas stop on leaving; the stack's keep running."""
    extra = {
        name: [
            ServiceProcess(name, env=replica_env(name, r), log_name=f"{name}-replica{r}")
            for r in range(2, count + 1)
        ]
        for name in SERVICES
    }
    started = [proc for procs in extra.values() for proc in procs]
    for proc in started:
        proc.start()
    try:
        await asyncio.gather(*(proc.wait_healthy(timeout=60) for proc in started))
        yield {name: [stack[name], *extra[name]] for name in SERVICES}
    finally:
        await asyncio.gather(*(proc.stop() for proc in started))


@pytest.fixture
async def two_replicas(stack: Stack) -> AsyncIterator[Replicas]:
    """Two replicas of every service (the default stack is one, for the other tests' speed)."""
    async with replicas_of(stack, 2) as replicas:
        yield replicas


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15, headers=admin_headers()) as client:
        yield client


@pytest.fixture
def urls() -> dict[str, str]:
    return {name: base_url(name) for name in SERVICES}


@pytest.fixture
async def api(urls: dict[str, str]) -> AsyncIterator[Api]:
    """The generated clients (`make clients`), one per service."""
    async with generated_clients(urls) as clients:
        yield clients
