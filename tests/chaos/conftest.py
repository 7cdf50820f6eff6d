"""The chaos suite's stack: its own broker and PostgreSQL cluster (it stops both), the five
services as processes on ports of their own, migrated databases and a stocked SKU.

Ports come from the run's block (OMS_TEST_PORT_BASE), clear of the services' and the mail
sink's, so two runs on one machine (each with its own port base) never meet:
PostgreSQL at base+7432, Kafka at base+11092 (its controller +1), services at base+60+n.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from libs import registry
from libs.messaging.admin import ONE_BROKER, ensure_topics
from tests.e2e.conftest import STACK_ENV, ServiceProcess
from tests.e2e.flows import random_sku, set_stock
from tests.support.environment import PORT_BASE, ROOT, SERVICES, TOPIC_PREFIX
from tests.support.mailbox import Mailbox
from tests.support.tokens import admin_headers

from .infra import Kafka, Postgres

PG_PORT = PORT_BASE + 7432
KAFKA_PORT = PORT_BASE + 11092
SERVICE_PORT_BASE = PORT_BASE + 60
# Plenty: the check counts reservations, it does not need stock to run out.
STOCK = 100_000
LOCATION = "WH-CHAOS"


@dataclass
class Chaos:
    postgres: Postgres
    kafka: Kafka
    services: dict[str, ServiceProcess]
    databases: dict[str, str]  # service -> its database URL on the suite's cluster
    log_offsets: dict[str, int]  # where each service's log file stood before the suite
    headers: dict[str, str] = field(default_factory=admin_headers)

    def log_since_start(self, service: str) -> str:
        """All the suite's starts of the service wrote (the file keeps earlier runs')."""
        with self.services[service].log_path.open("rb") as log:
            log.seek(self.log_offsets[service])
            return log.read().decode(errors="replace")

    def url(self, service: str) -> str:
        return self.services[service].url

    @property
    def urls(self) -> dict[str, str]:
        return {name: proc.url for name, proc in self.services.items()}

    async def stocked_sku(self, prefix: str) -> str:
        sku = random_sku(prefix)
        async with httpx.AsyncClient(timeout=15, headers=self.headers) as http:
            await set_stock(http, self.urls, location=LOCATION, sku=sku, on_hand=STOCK)
        return sku


def service_env(postgres: Postgres, kafka: Kafka) -> dict[str, str]:
    """What every service process of the suite runs with: the suite's database, broker and
    ports for all five (one process reads only its own, but none may see the shared ones)."""
    env: dict[str, str] = {}
    for service in registry.SERVICES:
        prefix = SERVICES[service.name][0]
        env[f"{prefix}_DATABASE_URL"] = postgres.url(service.role, service.database)
        env[f"{prefix}_KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap
        env[f"{prefix}_HTTP_PORT"] = str(SERVICE_PORT_BASE + service.port_offset)
        # Static group membership, as a deployment with stable instance names has: a killed
        # process that comes back takes its partitions straight back, without waiting out the
        # dead member's session.
        env[f"{prefix}_KAFKA_GROUP_INSTANCE_ID"] = f"{service.name}-chaos"
    env["RETURNS_ORDER_CAPTURE_URL"] = (
        f"http://127.0.0.1:{SERVICE_PORT_BASE + registry.service('order_capture').port_offset}"
    )
    return env


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "libs.db.migrate"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="session")
async def chaos(mail_sink: Mailbox) -> AsyncIterator[Chaos]:
    postgres, kafka = Postgres(PG_PORT), Kafka(KAFKA_PORT)
    services: dict[str, ServiceProcess] = {}
    try:
        # The cluster and the broker start side by side (the broker's JVM takes longest).
        await asyncio.gather(
            asyncio.to_thread(postgres.create_and_start),
            asyncio.to_thread(kafka.create),
        )
        broker = asyncio.create_task(kafka.start())
        await asyncio.to_thread(postgres.psql, ROOT / "deploy" / "postgres" / "init.sql")
        env = service_env(postgres, kafka)
        await asyncio.to_thread(migrate, env)
        await broker
        await ensure_topics(
            bootstrap_servers=kafka.bootstrap, prefix=TOPIC_PREFIX, layout=ONE_BROKER
        )
        offsets = {}
        for name in SERVICES:
            services[name] = ServiceProcess(
                name, env={**env, **STACK_ENV.get(name, {})}, log_name=f"chaos-{name}"
            )
            log = services[name].log_path
            offsets[name] = log.stat().st_size if log.exists() else 0
            services[name].start()
        await asyncio.gather(*(proc.wait_healthy(timeout=90) for proc in services.values()))
        databases = {s.name: postgres.url(s.role, s.database) for s in registry.SERVICES}
        yield Chaos(postgres, kafka, services, databases, offsets)
    finally:
        await asyncio.gather(*(proc.stop() for proc in services.values()))
        await kafka.remove()
        await asyncio.to_thread(postgres.remove)
