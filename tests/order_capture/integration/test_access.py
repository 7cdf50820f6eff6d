"""Who may do what with an order: the scope of each route, the channels claim narrowing every
order read and change (an order of another channel is exactly as absent as a missing one), and
self-service answering the same whether an order number exists or not."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import libs.self_service
from libs.auth.scopes import Scope
from libs.http.rate_limit import RateLimiter
from libs.runtime import ServiceContainer
from services.order_capture.adapters.tables import sales_order
from tests.order_capture.integration.conftest import client_for, count, published
from tests.support.orders import order_body
from tests.support.tokens import bearer, token

pytestmark = pytest.mark.usefixtures("migrated_databases")

READ_WRITE = (Scope.ORDERS_READ, Scope.ORDERS_WRITE)


@pytest.fixture
async def anonymous(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends no token at all."""
    async with client_for(container) as c:
        del c.headers["Authorization"]
        yield c


def narrowed(*channels: str, scopes: tuple[str, ...] = READ_WRITE) -> dict[str, str]:
    return bearer(token(scopes, channels=channels, client_id=f"channel-{'-'.join(channels)}"))


def scoped(*scopes: str) -> dict[str, str]:
    return bearer(token(scopes, client_id="scoped-client"))


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """Placed by the back office (the fixture client's admin token, no channels claim)."""
    customer = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "name": "Ada Lovelace"}
    r = await client.post("/v1/orders", json=order_body(**{"customer": customer, **overrides}))
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


def requests_on(order: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, httpx keyword arguments) of every route on one order."""
    oid, number = order["id"], order["order_number"]
    return [
        ("GET", f"/v1/orders/{oid}", {}),
        ("GET", f"/v1/orders/by-number/{number}", {}),
        ("GET", f"/v1/orders/{oid}/timeline", {}),
        ("PATCH", f"/v1/orders/{oid}", {"json": {"notes": "x"}, "headers": {"If-Match": '"1"'}}),
        ("POST", f"/v1/orders/{oid}/cancel", {"json": {"reason": "x"}}),
        ("POST", f"/v1/orders/{oid}/priority", {"json": {"priority": "high"}}),
    ]


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    auth: dict[str, str],
    kwargs: dict[str, Any],
) -> httpx.Response:
    headers = {**kwargs.get("headers", {}), **auth}
    return await client.request(method, path, **{**kwargs, "headers": headers})


class TestScopes:
    @pytest.mark.parametrize(
        ("method", "path", "needs"),
        [
            ("POST", "/v1/orders", Scope.ORDERS_WRITE),
            ("GET", "/v1/orders", Scope.ORDERS_READ),
            ("GET", "/v1/orders/{id}", Scope.ORDERS_READ),
            ("GET", "/v1/orders/by-number/{number}", Scope.ORDERS_READ),
            ("GET", "/v1/orders/{id}/timeline", Scope.ORDERS_READ),
            ("PATCH", "/v1/orders/{id}", Scope.ORDERS_WRITE),
            ("POST", "/v1/orders/{id}/cancel", Scope.ORDERS_WRITE),
            ("POST", "/v1/orders/{id}/priority", Scope.ORDERS_WRITE),
        ],
    )
    async def test_a_token_without_the_scope_is_403_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        container: ServiceContainer,
        method: str,
        path: str,
        needs: Scope,
    ) -> None:
        order = await place(client)
        url = path.format(id=order["id"], number=order["order_number"])
        other = Scope.ORDERS_READ if needs == Scope.ORDERS_WRITE else Scope.ORDERS_WRITE
        bodies = {
            "/v1/orders": order_body(),
            f"/v1/orders/{order['id']}": {"notes": "x"},
            f"/v1/orders/{order['id']}/cancel": {"reason": "x"},
            f"/v1/orders/{order['id']}/priority": {"priority": "high"},
        }
        kwargs: dict[str, Any] = {"headers": {**scoped(other, Scope.INVENTORY_READ)}}
        if method != "GET":
            kwargs["json"] = bodies[url]
            kwargs["headers"]["If-Match"] = '"1"'
        r = await client.request(method, url, **kwargs)
        assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope"), r.text
        assert r.json()["extensions"]["required_scopes"] == [needs.value]
        current = (await client.get(f"/v1/orders/{order['id']}")).json()
        assert (current["version"], current["status"]) == (1, "pending")

    async def test_the_scope_is_enough_without_admin(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/v1/orders", json=order_body(), headers=scoped(Scope.ORDERS_WRITE))
        assert r.status_code == 201, r.text
        got = await client.get(f"/v1/orders/{r.json()['id']}", headers=scoped(Scope.ORDERS_READ))
        assert got.status_code == 200, got.text

    async def test_without_a_token_is_401(self, anonymous: httpx.AsyncClient) -> None:
        for r in (
            await anonymous.get("/v1/orders"),
            await anonymous.post("/v1/orders", json=order_body()),
        ):
            assert (r.status_code, r.json()["code"]) == (401, "unauthenticated")

    async def test_the_openapi_names_each_operations_scope(self, client: httpx.AsyncClient) -> None:
        doc = (await client.get("/openapi.json")).json()
        expected = {
            ("post", "/v1/orders"): Scope.ORDERS_WRITE,
            ("get", "/v1/orders"): Scope.ORDERS_READ,
            ("get", "/v1/orders/{order_id}"): Scope.ORDERS_READ,
            ("get", "/v1/orders/by-number/{order_number}"): Scope.ORDERS_READ,
            ("get", "/v1/orders/{order_id}/timeline"): Scope.ORDERS_READ,
            ("patch", "/v1/orders/{order_id}"): Scope.ORDERS_WRITE,
            ("post", "/v1/orders/{order_id}/cancel"): Scope.ORDERS_WRITE,
            ("post", "/v1/orders/{order_id}/priority"): Scope.ORDERS_WRITE,
        }
        for (method, path), scope in expected.items():
            assert doc["paths"][path][method]["security"] == [{"bearerAuth": [scope.value]}]
        self_service_paths = doc["paths"]["/v1/self-service/orders/{order_number}"]
        assert self_service_paths["get"]["security"] == []
        assert "429" in self_service_paths["get"]["responses"]
        cancel = doc["paths"]["/v1/self-service/orders/{order_number}/cancel"]["post"]
        assert (cancel["security"], "429" in cancel["responses"]) == ([], True)


class TestChannelNarrowing:
    async def test_another_channels_order_is_404_exactly_like_a_missing_one(
        self, client: httpx.AsyncClient
    ) -> None:
        order = await place(client, channel="web")
        missing = str(uuid.uuid4())
        gone = await client.get(f"/v1/orders/{missing}", headers=narrowed("pos"))
        assert gone.status_code == 404
        assert gone.json()["detail"] == f"no order {missing}"

        for method, path, kwargs in requests_on(order):
            r = await call(client, method, path, narrowed("pos"), kwargs)
            assert r.status_code == 404, (method, path, r.text)
            assert r.headers["content-type"] == gone.headers["content-type"]
            ref = order["order_number"] if "by-number" in path else order["id"]
            assert r.json() == {**gone.json(), "detail": f"no order {ref}"}, (method, path)

    async def test_another_channel_cannot_change_the_order(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client, channel="web")
        pos = narrowed("pos")
        patch = await client.patch(
            f"/v1/orders/{order['id']}", json={"notes": "mine"}, headers={**pos, "If-Match": '"1"'}
        )
        cancel = await client.post(
            f"/v1/orders/{order['id']}/cancel",
            json={"reason": "mine"},
            headers={**pos, "Idempotency-Key": str(uuid.uuid4())},
        )
        partial = await client.post(
            f"/v1/orders/{order['id']}/cancel",
            json={"reason": "mine", "lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]},
            headers=pos,
        )
        assert [patch.status_code, cancel.status_code, partial.status_code] == [404, 404, 404]
        current = (await client.get(f"/v1/orders/{order['id']}")).json()
        assert (current["version"], current["status"], current["notes"]) == (1, "pending", None)
        assert len(await published(container, order["id"])) == 1  # just oms.order.placed

    async def test_an_empty_channels_claim_sees_no_order(self, client: httpx.AsyncClient) -> None:
        order = await place(client, channel="web")
        nothing = bearer(token(READ_WRITE, channels=[], client_id="no-channels"))
        r = await client.get(f"/v1/orders/{order['id']}", headers=nothing)
        assert r.status_code == 404
        listed = await client.get(
            "/v1/orders", params={"customer_email": order["customer"]["email"]}, headers=nothing
        )
        assert listed.json()["items"] == []
        post = await client.post("/v1/orders", json=order_body(), headers=nothing)
        assert (post.status_code, post.json()["code"]) == (403, "channel_not_allowed")

    async def test_the_orders_channel_reads_and_changes_it(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client, channel="web")
        web = narrowed("pos", "web")
        for method, path, kwargs in requests_on(order)[:3]:
            r = await call(client, method, path, web, kwargs)
            assert r.status_code == 200, (method, path, r.text)
        patch = await client.patch(
            f"/v1/orders/{order['id']}", json={"notes": "ring"}, headers={**web, "If-Match": '"1"'}
        )
        assert (patch.status_code, patch.json()["notes"]) == (200, "ring")
        cancel = await client.post(
            f"/v1/orders/{order['id']}/cancel", json={"reason": "changed mind"}, headers=web
        )
        assert (cancel.status_code, cancel.json()["status"]) == (200, "cancelled")

    async def test_lists_hold_only_the_callers_channels(self, client: httpx.AsyncClient) -> None:
        customer = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "name": "List Test"}
        web = await place(client, channel="web", customer=customer)
        pos = await place(client, channel="pos", customer=customer)
        phone = await place(client, channel="phone", customer=customer)

        async def ids(headers: dict[str, str], **params: Any) -> list[str]:
            params["customer_email"] = customer["email"]
            r = await client.get("/v1/orders", params=params, headers=headers)
            assert r.status_code == 200, r.text
            return [o["id"] for o in r.json()["items"]]

        assert await ids({}) == [phone["id"], pos["id"], web["id"]]  # back office: all
        assert await ids(narrowed("web")) == [web["id"]]
        assert await ids(narrowed("web", "phone")) == [phone["id"], web["id"]]
        assert await ids(narrowed("web"), channel="web") == [web["id"]]
        assert await ids(narrowed("web"), channel="pos") == []
        # Pages stay narrowed too: the cursor does not widen what the next page holds.
        first = await client.get(
            "/v1/orders",
            params={"customer_email": customer["email"], "limit": 1},
            headers=narrowed("web", "pos"),
        )
        second = await client.get(
            "/v1/orders",
            params={
                "customer_email": customer["email"],
                "limit": 1,
                "cursor": first.json()["next_cursor"],
            },
            headers=narrowed("web", "pos"),
        )
        assert [o["id"] for o in first.json()["items"] + second.json()["items"]] == [
            pos["id"],
            web["id"],
        ]
        assert second.json()["next_cursor"] is None

    async def test_the_channel_order_ref_filter_finds_only_the_callers_channels(
        self, client: httpx.AsyncClient
    ) -> None:
        # One reference used by two channels (unique per channel only), and a look-alike.
        ref = f"REF-{uuid.uuid4().hex[:10]}"
        web = await place(client, channel="web", channel_order_ref=ref)
        pos = await place(client, channel="pos", channel_order_ref=ref)
        await place(client, channel="web", channel_order_ref=f"{ref}-2")

        async def ids(headers: dict[str, str], **params: Any) -> list[str]:
            r = await client.get("/v1/orders", params=params, headers=headers)
            assert r.status_code == 200, r.text
            return [o["id"] for o in r.json()["items"]]

        assert await ids({}, channel_order_ref=ref) == [pos["id"], web["id"]]  # exact match
        assert await ids({}, channel_order_ref=ref.lower()) == []
        assert await ids(narrowed("web"), channel_order_ref=ref) == [web["id"]]
        assert await ids(narrowed("web"), channel_order_ref=ref, channel="pos") == []
        assert await ids({}, channel_order_ref=ref, channel="pos") == [pos["id"]]
        empty = await client.get("/v1/orders", params={"channel_order_ref": ""})
        assert (empty.status_code, empty.json()["code"]) == (422, "validation_error")


class TestPlacingForAChannel:
    async def test_a_client_places_orders_of_its_channels_only(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        body = order_body(channel="web")
        refused = await client.post("/v1/orders", json=body, headers=narrowed("pos"))
        assert (refused.status_code, refused.json()["code"]) == (403, "channel_not_allowed")
        ref_count = select(func.count()).where(
            sales_order.c.channel_order_ref == body["channel_order_ref"]
        )
        assert await count(container, ref_count) == 0
        placed = await client.post("/v1/orders", json=body, headers=narrowed("web"))
        assert (placed.status_code, placed.json()["channel"]) == (201, "web")

    async def test_another_channel_cannot_replay_an_idempotency_key(
        self, client: httpx.AsyncClient
    ) -> None:
        body, key = order_body(channel="web"), {"Idempotency-Key": str(uuid.uuid4())}
        first = await client.post("/v1/orders", json=body, headers={**narrowed("web"), **key})
        assert first.status_code == 201, first.text
        replay = await client.post("/v1/orders", json=body, headers={**narrowed("pos"), **key})
        assert (replay.status_code, replay.json()["code"]) == (403, "channel_not_allowed")
        assert first.json()["id"] not in replay.text
        again = await client.post("/v1/orders", json=body, headers={**narrowed("web"), **key})
        assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])


class TestSelfServiceAccess:
    async def test_needs_no_token(
        self, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        order = await place(client)
        path = f"/v1/self-service/orders/{order['order_number']}"
        email = order["customer"]["email"]
        r = await anonymous.get(path, params={"email": email})
        assert (r.status_code, r.json()["status"]) == (200, "pending"), r.text
        r = await anonymous.post(f"{path}/cancel", json={"email": email})
        assert (r.status_code, r.json()["status"]) == (200, "cancelled"), r.text

    async def test_an_unknown_number_runs_the_same_email_comparison(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        order = await place(client)
        compared: list[tuple[str, str]] = []
        real = libs.self_service.email_matches

        def spy(on_order: str, given: str) -> bool:
            compared.append((on_order, given))
            return real(on_order, given)

        monkeypatch.setattr(libs.self_service, "email_matches", spy)
        given = "eve@example.com"
        answers = [
            await client.get(f"/v1/self-service/orders/{number}", params={"email": given})
            for number in (order["order_number"], "OMS-99999998")
        ] + [
            await client.post(
                f"/v1/self-service/orders/{number}/cancel", json={"email": given, "reason": "x"}
            )
            for number in (order["order_number"], "OMS-99999998")
        ]
        assert [a.status_code for a in answers] == [404] * 4
        assert all(a.json() == answers[0].json() for a in answers)
        assert (
            compared
            == [
                (order["customer"]["email"], given),
                (libs.self_service.NO_ORDER_EMAIL, given),
            ]
            * 2
        )

    async def test_self_service_is_rate_limited_per_address(
        self,
        client: httpx.AsyncClient,
        container: ServiceContainer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        strict = RateLimiter(rate_per_s=0.001, burst=2)
        monkeypatch.setattr(
            container, "access", dataclasses.replace(container.access, self_service_limiter=strict)
        )
        params = {"email": "eve@example.com"}
        get = "/v1/self-service/orders/OMS-99999997"
        answers = [
            (await client.get(get, params=params)).status_code,
            (await client.post(f"{get}/cancel", json=params)).status_code,
            (await client.get(get, params=params)).status_code,
            (await client.post(f"{get}/cancel", json=params)).status_code,
        ]
        assert answers == [404, 404, 429, 429]
        limited = await client.get(get, params=params)
        assert limited.json()["code"] == "rate_limited" and "retry-after" in limited.headers
        # Staff routes are not limited by the self-service bucket.
        assert (await client.get("/v1/orders", params={"limit": 1})).status_code == 200
