"""notifications in-process against the real test database: the API (no workers), and, for
the consumer's tests, its consumer on the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable

import httpx
import pytest

from libs.auth.scopes import Scope
from libs.runtime import ServiceContainer
from services.notifications.api.app import create_app
from services.notifications.bootstrap import bootstrap
from tests.support.tokens import admin_headers, bearer, token

Client = Callable[..., httpx.AsyncClient]


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.engine.dispose()


@pytest.fixture
async def clients(container: ServiceContainer) -> AsyncIterator[Client]:
    """Clients of the API with the token asked for: `clients(scopes=..., channels=...)`;
    with no arguments a back-office client (every scope, no narrowing)."""
    app = create_app(container, parts=("api",))
    app.state.container = container
    opened: list[httpx.AsyncClient] = []

    def make(
        scopes: Iterable[str] | None = None, channels: Iterable[str] | None = None
    ) -> httpx.AsyncClient:
        headers = (
            admin_headers()
            if scopes is None and channels is None
            else bearer(token(scopes or (Scope.ADMIN,), channels=channels, client_id="narrow"))
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
async def client(clients: Client) -> httpx.AsyncClient:
    return clients()
