"""order-capture's HTTP API against the real test database (in-process, no workers)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.runtime import ServiceContainer
from services.order_capture.adapters.tables import plumbing, sales_order
from services.order_capture.api.app import create_app
from services.order_capture.bootstrap import bootstrap

pytestmark = pytest.mark.usefixtures("migrated_databases")


@pytest.fixture(scope="module")
async def container() -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.engine.dispose()


@pytest.fixture
async def client(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container, parts=("api",))
    app.state.container = container
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "web",
        "channel_order_ref": f"W-{uuid.uuid4().hex[:12]}",
        "currency": "EUR",
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "lines": [
            {"sku": "LAMP-1", "quantity": 2, "unit_price": "19.99"},
            {"sku": "BULB-9", "quantity": 1, "unit_price": "4.50"},
        ],
    }
    body.update(overrides)
    return body


async def count(container: ServiceContainer, query: Any) -> int:
    async with container.session_factory() as s:
        return int(await s.scalar(query) or 0)


class TestPlaceOrder:
    async def test_creates_a_pending_order_with_computed_totals_and_its_event(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        r = await client.post("/v1/orders", json=order_body())
        assert r.status_code == 201, r.text
        order = r.json()
        assert r.headers["location"] == f"/v1/orders/{order['id']}"
        assert order["status"] == "pending"
        assert order["total_amount"] == "44.48"
        assert [ln["line_total"] for ln in order["lines"]] == ["39.98", "4.50"]
        assert order["order_number"].startswith("OMS-")
        outbox = plumbing.outbox
        assert (
            await count(
                container,
                select(func.count()).where(
                    outbox.c.key == order["id"], outbox.c.event_type == "oms.order.placed"
                ),
            )
            == 1
        )

    async def test_get_returns_what_post_returned(self, client: httpx.AsyncClient) -> None:
        created = (await client.post("/v1/orders", json=order_body())).json()
        fetched = await client.get(f"/v1/orders/{created['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == created


class TestIdempotencyKey:
    async def test_same_key_same_body_returns_the_first_order(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        body, key = order_body(), str(uuid.uuid4())
        first = await client.post("/v1/orders", json=body, headers={"Idempotency-Key": key})
        second = await client.post("/v1/orders", json=body, headers={"Idempotency-Key": key})
        assert (first.status_code, second.status_code) == (201, 201)
        assert second.json() == first.json()
        assert (
            await count(
                container,
                select(func.count()).where(
                    sales_order.c.channel_order_ref == body["channel_order_ref"]
                ),
            )
            == 1
        )

    async def test_concurrent_retries_create_one_order(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        body, key = order_body(), str(uuid.uuid4())
        responses = await asyncio.gather(
            *(
                client.post("/v1/orders", json=body, headers={"Idempotency-Key": key})
                for _ in range(5)
            )
        )
        assert {r.status_code for r in responses} == {201}
        assert len({r.json()["id"] for r in responses}) == 1
        outbox = plumbing.outbox
        assert (
            await count(
                container, select(func.count()).where(outbox.c.key == responses[0].json()["id"])
            )
            == 1
        )

    async def test_same_key_other_body_is_409(self, client: httpx.AsyncClient) -> None:
        key = str(uuid.uuid4())
        await client.post("/v1/orders", json=order_body(), headers={"Idempotency-Key": key})
        r = await client.post("/v1/orders", json=order_body(), headers={"Idempotency-Key": key})
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "idempotency_key_reused"


class TestBadInput:
    async def test_duplicate_channel_reference_names_the_existing_order(
        self, client: httpx.AsyncClient
    ) -> None:
        body = order_body()
        first = (await client.post("/v1/orders", json=body)).json()
        r = await client.post("/v1/orders", json=body)
        assert r.status_code == 409
        assert r.json()["code"] == "duplicate_channel_order"
        assert r.json()["extensions"]["existing_order_id"] == first["id"]

    async def test_same_sku_twice_is_refused(self, client: httpx.AsyncClient) -> None:
        line = {"sku": "LAMP-1", "quantity": 1, "unit_price": "1.00"}
        r = await client.post("/v1/orders", json=order_body(lines=[line, line]))
        assert r.status_code == 422
        assert r.json()["code"] == "duplicate_sku"

    async def test_malformed_json_is_a_problem_not_a_500(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/orders",
            content=b'{"channel": "web",',
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "malformed_json"

    async def test_wrong_types_name_the_field(self, client: httpx.AsyncClient) -> None:
        body = order_body(lines=[{"sku": "LAMP-1", "quantity": "two", "unit_price": "1.00"}])
        r = await client.post("/v1/orders", json=body)
        assert r.status_code == 422
        problem = r.json()
        assert problem["code"] == "validation_error"
        assert "lines.0.quantity" in [e["field"] for e in problem["errors"]]

    @pytest.mark.parametrize("field", ["status", "total_amount"])
    async def test_client_cannot_set_computed_fields(
        self, client: httpx.AsyncClient, field: str
    ) -> None:
        r = await client.post("/v1/orders", json=order_body(**{field: "confirmed"}))
        assert r.status_code == 422
        assert field in [e["field"] for e in r.json()["errors"]]

    async def test_unknown_order_is_a_404_problem(self, client: httpx.AsyncClient) -> None:
        r = await client.get(f"/v1/orders/{uuid.uuid4()}")
        assert r.status_code == 404
        assert r.json()["code"] == "order_not_found"

    async def test_unknown_route_is_a_404_problem(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/nothing-here")
        assert (r.status_code, r.json()["code"]) == (404, "not_found")


class TestListOrders:
    async def test_pages_newest_first_without_overlap(self, client: httpx.AsyncClient) -> None:
        created = [
            (await client.post("/v1/orders", json=order_body())).json()["id"] for _ in range(3)
        ]
        first = (await client.get("/v1/orders", params={"limit": 2})).json()
        second = (
            await client.get("/v1/orders", params={"limit": 2, "cursor": first["next_cursor"]})
        ).json()
        ids = [o["id"] for o in first["items"]] + [o["id"] for o in second["items"]]
        assert ids[:3] == list(reversed(created))
        assert len(ids) == len(set(ids))

    async def test_a_forged_cursor_is_a_422_problem(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/orders", params={"cursor": "not-a-cursor"})
        assert (r.status_code, r.json()["code"]) == (422, "invalid_cursor")

    async def test_limit_above_maximum_is_refused(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/orders", params={"limit": 201})).status_code == 422
