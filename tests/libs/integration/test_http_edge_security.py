"""The shared HTTP edge on a real service app and database: write and self-service rate limits,
the audit log, and refusing to serve an operation that names no scope."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from libs.auth.scopes import Scope
from libs.http.app import refuse_unguarded_operations
from libs.runtime import ServiceContainer
from services.order_capture.api.app import create_app
from services.order_capture.bootstrap import bootstrap
from services.order_capture.config import OrderCaptureSettings
from tests.support.orders import order_body
from tests.support.tokens import bearer, token


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    settings = OrderCaptureSettings(
        WRITE_RATE_PER_S=0.01, WRITE_BURST=2, SELF_SERVICE_RATE_PER_MIN=1, SELF_SERVICE_BURST=3
    )
    c = bootstrap(settings)
    yield c
    await c.engine.dispose()


@pytest.fixture
async def client(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container, parts=("api",))
    app.state.container = container
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_writes_past_the_clients_rate_are_429_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer(token([Scope.ORDERS_WRITE], client_id="rate-probe"))
    statuses = []
    for _ in range(3):
        r = await client.post("/v1/orders", json={"channel": "web"}, headers=headers)
        statuses.append(r.status_code)
    assert statuses == [422, 422, 429]  # the burst of 2 is spent even by refused bodies
    assert r.json()["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    # Reads are not limited, and another client has its own budget.
    reader = bearer(token([Scope.ORDERS_READ], client_id="rate-probe"))
    assert (await client.get("/v1/orders", headers=reader)).status_code == 200
    other = bearer(token([Scope.ORDERS_WRITE], client_id="another-client"))
    assert (await client.post("/v1/orders", json={}, headers=other)).status_code == 422


async def test_self_service_past_the_addresss_rate_is_429(client: httpx.AsyncClient) -> None:
    url = "/v1/self-service/orders/OMS-99999999"
    statuses = [
        (await client.get(url, params={"email": f"guess{i}@example.com"})).status_code
        for i in range(4)
    ]
    assert statuses == [404, 404, 404, 429]


async def test_the_audit_log_names_the_client_that_made_each_change(
    client: httpx.AsyncClient,
) -> None:
    connector = bearer(token([Scope.ORDERS_WRITE], client_id="audit-probe", channels=["web"]))
    placed = await client.post("/v1/orders", json=order_body(), headers=connector)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]

    admin = bearer(token([Scope.ADMIN], client_id="auditor"))
    r = await client.get("/v1/audit", params={"resource": f"order:{order_id}"}, headers=admin)
    assert r.status_code == 200, r.text
    entries = r.json()["items"]
    # One row per event the placement raised: the order's, and its payment token's command to
    # orchestration (oms.payments.commands).
    assert sorted(e["event_type"] for e in entries) == [
        "oms.order.placed",
        "oms.payments.authorize_with",
    ]
    for entry in entries:
        assert entry["actor"] == "audit-probe"
        assert entry["operation"] == "POST /v1/orders"
        assert f"order:{order_id}" in entry["resources"]

    narrowed_admin = bearer(token([Scope.ADMIN], channels=["web"]))
    refused = await client.get(
        "/v1/audit", params={"resource": f"order:{order_id}"}, headers=narrowed_admin
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "audit_needs_unnarrowed_token"


def test_an_operation_without_a_scope_stops_the_service_from_starting() -> None:
    guarded = {"security": [{"bearerAuth": ["orders:read"]}]}
    public: dict[str, list[object]] = {"security": []}
    refuse_unguarded_operations(
        {"paths": {"/v1/orders": {"get": guarded}, "/v1/self-service/x": {"get": public}}}
    )
    with pytest.raises(RuntimeError, match="GET /v1/orders"):
        refuse_unguarded_operations({"paths": {"/v1/orders": {"get": public}}})
