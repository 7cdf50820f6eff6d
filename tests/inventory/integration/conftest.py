"""inventory in-process (API only, no workers) against the real test database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from libs.runtime import ServiceContainer
from services.inventory.adapters.tables import plumbing
from services.inventory.api.app import create_app
from services.inventory.bootstrap import bootstrap
from tests.support.tokens import admin_headers


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.engine.dispose()


def client_for(container: ServiceContainer) -> httpx.AsyncClient:
    app = create_app(container, parts=("api",))
    app.state.container = container
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=admin_headers()
    )


@pytest.fixture
async def client(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(container) as c:
        yield c


def unique(prefix: str) -> str:
    """A code no other test uses: the test database is shared by the whole run."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def location_body(code: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": f"Location {code}",
        "type": "warehouse",
        "address": {
            "line1": "Lagerstraße 1",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        "capabilities": ["ship"],
    }
    return body | overrides


async def create_location(client: httpx.AsyncClient, code: str, **overrides: Any) -> None:
    r = await client.post("/v1/locations", json=location_body(code, **overrides))
    assert r.status_code == 201, r.text


async def stock(client: httpx.AsyncClient, location: str, sku: str, on_hand: int) -> None:
    r = await client.put(f"/v1/locations/{location}/stock/{sku}", json={"on_hand": on_hand})
    assert r.status_code == 200, r.text


async def stock_at(client: httpx.AsyncClient, sku: str, code: str) -> dict[str, Any]:
    """The SKU's counters at one location, as GET /v1/stock/{sku} shows them."""
    r = await client.get(f"/v1/stock/{sku}")
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = [x for x in r.json()["locations"] if x["location_code"] == code]
    assert len(found) == 1, found
    return found[0]


async def reserve(
    client: httpx.AsyncClient,
    *lines: tuple[str, int, str | None],
    headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response:
    """POST /v1/reservations with (sku, quantity, location code or None) lines."""
    body.setdefault("order_id", str(uuid.uuid4()))
    body["lines"] = [{"sku": s, "quantity": q, "location_code": c} for s, q, c in lines]
    return await client.post("/v1/reservations", json=body, headers=headers)


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The problem details of an error answer, after checking its status and code."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


async def published(container: ServiceContainer, key: str, *types: str) -> list[dict[str, Any]]:
    """The CloudEvents of the outbox rows with this key (order id or SKU), oldest first;
    only the given short types (`"stock_changed"`) when any are named."""
    outbox = plumbing.outbox
    query = select(outbox.c.payload).where(outbox.c.key == key).order_by(outbox.c.seq)
    if types:
        query = query.where(outbox.c.event_type.in_([f"oms.inventory.{t}" for t in types]))
    async with container.session_factory() as s:
        return [row.payload for row in await s.execute(query)]


class FakeClock:
    """A clock the test moves. Keep it far in the past: the expiry job then never touches
    holds that other tests made on the real clock in the shared database."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


# Any advisory lock key of our own; "expiry" on a phone keypad.
EXPIRY_JOB_LOCK = 3_977_479


@asynccontextmanager
async def taking_turns_with_the_expiry_job(container: ServiceContainer) -> AsyncIterator[None]:
    """The expiry job expires every due hold in the database, so two tests running it on fake
    clocks (in this run or in another run on the same database) would expire each other's
    holds: they take turns on a PostgreSQL advisory lock."""
    async with container.engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": EXPIRY_JOB_LOCK})
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": EXPIRY_JOB_LOCK})
