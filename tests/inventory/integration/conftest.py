"""inventory in-process (API only, no workers) against the real test database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from libs.runtime import ServiceContainer
from services.inventory.api.app import create_app
from services.inventory.bootstrap import bootstrap


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.engine.dispose()


def client_for(container: ServiceContainer) -> httpx.AsyncClient:
    app = create_app(container, parts=("api",))
    app.state.container = container
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


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
