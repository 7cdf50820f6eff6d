"""insights in-process against the real test database, its consumer on topics of this module's
own (its forged events must stay off the run's topics, which the end-to-end stack reads)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable

import httpx
import pytest

from libs.auth.scopes import Scope
from libs.messaging.admin import ONE_BROKER, delete_topics_with_prefix, ensure_topics
from libs.runtime import ServiceContainer
from services.insights.api.app import create_app
from services.insights.bootstrap import bootstrap
from services.insights.config import InsightsSettings
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.tokens import admin_headers, bearer, token

Client = Callable[..., httpx.AsyncClient]


@pytest.fixture(scope="module")
async def own_prefix() -> AsyncIterator[str]:
    prefix = f"{TOPIC_PREFIX}kpi{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap_servers=BOOTSTRAP_SERVERS, prefix=prefix, layout=ONE_BROKER)
    yield prefix
    await delete_topics_with_prefix(bootstrap_servers=BOOTSTRAP_SERVERS, prefix=prefix)


@pytest.fixture(scope="module")
def settings(own_prefix: str) -> InsightsSettings:
    return InsightsSettings(KAFKA_TOPIC_PREFIX=own_prefix, CONSUMER_LINGER_S=0)


@pytest.fixture(scope="module")
async def container(
    migrated_databases: None, settings: InsightsSettings
) -> AsyncIterator[ServiceContainer]:
    c = bootstrap(settings)
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
        scopes: Iterable[str] | None = None,
        channels: Iterable[str] | None = None,
        locations: Iterable[str] | None = None,
    ) -> httpx.AsyncClient:
        headers = (
            admin_headers()
            if scopes is None and channels is None and locations is None
            else bearer(
                token(
                    scopes or (Scope.ADMIN,),
                    channels=channels,
                    locations=locations,
                    client_id="narrow",
                )
            )
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()
