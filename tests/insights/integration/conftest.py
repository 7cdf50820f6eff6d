"""insights in-process against the real test database and broker: the API (no workers), and
the jobs a test starts itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from libs.runtime import ServiceContainer
from services.insights.api.app import create_app
from services.insights.bootstrap import bootstrap
from tests.support.tokens import admin_headers


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.close()


@pytest.fixture
async def client(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    """A back-office client of the API (every scope, no narrowing)."""
    app = create_app(container, parts=("api",))
    app.state.container = container
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=admin_headers()
    ) as c:
        yield c
