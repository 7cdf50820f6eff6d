"""order-capture in-process (API only, no workers) against the real test database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.messaging.topics import ORDER_EVENTS
from libs.runtime import ServiceContainer
from services.order_capture.adapters.tables import plumbing
from services.order_capture.api.app import create_app
from services.order_capture.bootstrap import bootstrap
from tests.support.tokens import admin_headers


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.close()


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


async def count(container: ServiceContainer, query: Any) -> int:
    async with container.session_factory() as s:
        return int(await s.scalar(query) or 0)


async def published(
    container: ServiceContainer, order_id: str, topic: str = ORDER_EVENTS
) -> list[dict[str, Any]]:
    """The CloudEvents the order's outbox rows hold for `topic` (its public events unless
    told: the payment token's command goes to oms.payments.commands), in the order they were
    written."""
    outbox = plumbing.outbox
    async with container.session_factory() as s:
        rows = await s.execute(
            select(outbox.c.payload)
            .where(outbox.c.key == order_id, outbox.c.topic == topic)
            .order_by(outbox.c.seq)
        )
        return [row.payload for row in rows]


async def outbox_rows_for(container: ServiceContainer, order_id: str) -> int:
    return await count(container, select(func.count()).where(plumbing.outbox.c.key == order_id))
