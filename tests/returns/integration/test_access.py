"""Who may do what with returns: every /v1 operation needs its scope; a token narrowed to
channels reads, lists, counts and changes only the returns of those channels' orders (any
other answered exactly like a missing one); a token narrowed to locations receives only there;
request bodies refuse fields they do not declare; self-service needs no token, is rate limited
and tells an unknown order from a wrong e-mail neither by its answer nor by its work."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs import self_service
from libs.auth.scopes import Scope
from libs.http.rate_limit import RateLimiter
from libs.runtime import ServiceContainer
from services.returns.adapters.tables import return_request
from services.returns.domain import commands
from tests.returns.integration.conftest import delivered_order, return_body
from tests.support.tokens import bearer, token

# Everything a return's routes need, but no admin: what a narrowed staff client holds.
STAFF = (Scope.ORDERS_READ, Scope.RETURNS_WRITE, Scope.REFUNDS_WRITE)
RID = "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a70"

# (method, path, the scope it needs); {id} is a return id.
OPERATIONS = [
    ("GET", "/v1/return-policy", Scope.ORDERS_READ),
    ("PUT", "/v1/return-policy", Scope.ADMIN),
    ("POST", "/v1/returns", Scope.RETURNS_WRITE),
    ("GET", "/v1/returns", Scope.ORDERS_READ),
    ("GET", "/v1/returns/analytics", Scope.ORDERS_READ),
    ("GET", "/v1/returns/{id}", Scope.ORDERS_READ),
    ("GET", "/v1/returns/{id}/label", Scope.ORDERS_READ),
    ("POST", "/v1/returns/{id}/approve", Scope.RETURNS_WRITE),
    ("POST", "/v1/returns/{id}/reject", Scope.RETURNS_WRITE),
    ("POST", "/v1/returns/{id}/drop_off", Scope.RETURNS_WRITE),
    ("POST", "/v1/returns/{id}/receive", Scope.RETURNS_WRITE),
    ("POST", "/v1/returns/{id}/refunds/retry", Scope.REFUNDS_WRITE),
]


def as_(*channels: str, locations: list[str] | None = None, scopes: Any = STAFF) -> dict[str, str]:
    return bearer(
        token(scopes, channels=channels, locations=locations, client_id=f"c-{uuid.uuid4().hex}")
    )


def a_channel() -> str:
    return f"shop-{uuid.uuid4().hex[:10]}"


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


def same_as_missing(
    hidden: httpx.Response, hidden_id: str, missing: httpx.Response, missing_id: str
) -> None:
    """The answer about an object the caller may not see is the answer about one that does not
    exist: same status, headers that matter and body, but for the id it names."""
    assert hidden.status_code == missing.status_code == 404, (hidden.text, missing.text)
    assert hidden.headers["content-type"] == missing.headers["content-type"]

    def shape(r: httpx.Response, object_id: str) -> dict[str, Any]:
        body: dict[str, Any] = r.json()
        body.pop("instance", None)
        body["detail"] = body["detail"].replace(object_id, "<id>")
        return body

    assert shape(hidden, hidden_id) == shape(missing, missing_id)


async def open_(client: httpx.AsyncClient, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return await client.post("/v1/returns", json=body, **kw)


def receipt(order: dict[str, Any], location: str = "WH-BER") -> dict[str, Any]:
    return {
        "location_code": location,
        "lines": [{"line_id": order["line_id"], "quantity": 1, "condition": "resellable"}],
    }


class TestScopes:
    @pytest.mark.parametrize(("method", "path", "scope"), OPERATIONS)
    async def test_every_scope_but_the_one_an_operation_needs_is_403(
        self, client: httpx.AsyncClient, method: str, path: str, scope: Scope
    ) -> None:
        others = [s for s in Scope if s not in (scope, Scope.ADMIN)]

        refused = await client.request(
            method,
            path.format(id=RID),
            json={"unexpected": 1},
            headers=bearer(token(others)),
        )

        body = problem(refused, 403, "insufficient_scope")
        assert body["extensions"]["required_scopes"] == [scope.value]

    @pytest.mark.parametrize(("method", "path", "scope"), OPERATIONS)
    async def test_the_one_scope_an_operation_needs_is_enough(
        self, client: httpx.AsyncClient, method: str, path: str, scope: Scope
    ) -> None:
        # A body no operation accepts: past the token check, nothing is changed.
        answered = await client.request(
            method,
            path.format(id=RID),
            json={"unexpected": 1},
            headers=bearer(token([scope])),
        )

        assert answered.status_code not in (401, 403), answered.text
        assert answered.status_code < 500, answered.text

    @pytest.mark.parametrize(("method", "path", "scope"), OPERATIONS)
    async def test_without_a_token_it_is_401(
        self, anonymous: httpx.AsyncClient, method: str, path: str, scope: Scope
    ) -> None:
        problem(await anonymous.request(method, path.format(id=RID)), 401, "unauthenticated")


class TestChannelNarrowing:
    async def test_another_channels_return_is_missing_for_reads_lists_and_analytics(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        assert (await client.put("/v1/return-policy", json=policy)).status_code == 200
        channel, elsewhere = a_channel(), a_channel()
        order = await delivered_order(container, units=4, channel=channel)
        theirs = await delivered_order(container, units=5, channel=elsewhere)
        opened = (await open_(client, return_body(order, 1))).json()
        assert opened["label"], opened  # a mail return with a label
        assert (await open_(client, return_body(theirs, 2, "damaged"))).status_code == 201
        rid, missing = opened["id"], str(uuid.uuid4())
        other = as_(elsewhere)

        for suffix in ("", "/label"):
            same_as_missing(
                await client.get(f"/v1/returns/{rid}{suffix}", headers=other),
                rid,
                await client.get(f"/v1/returns/{missing}{suffix}", headers=other),
                missing,
            )
        listed = await client.get("/v1/returns", headers=other)
        assert rid not in [r["id"] for r in listed.json()["items"]]
        of_order = await client.get("/v1/returns", params={"order_id": order["id"]}, headers=other)
        assert of_order.json()["items"] == []

        mine = as_(channel)
        assert (await client.get(f"/v1/returns/{rid}", headers=mine)).json()["id"] == rid
        label = await client.get(f"/v1/returns/{rid}/label", headers=mine)
        assert label.status_code == 200 and label.content.startswith(b"%PDF")
        assert [
            r["id"] for r in (await client.get("/v1/returns", headers=mine)).json()["items"]
        ] == [rid]
        both = await client.get("/v1/returns", headers=as_(channel, elsewhere))
        assert len(both.json()["items"]) == 2

        counted = (await client.get("/v1/returns/analytics", headers=mine)).json()
        assert (counted["returns"], counted["returned_units"], counted["delivered_units"]) == (
            1,
            1,
            4,
        )
        assert counted["by_channel"] == [
            {"key": channel, "returned_units": 1, "delivered_units": 4, "rate": 0.25}
        ]
        assert [s["key"] for s in counted["by_sku"]] == [order["sku"]]
        assert [r["key"] for r in counted["by_reason"]] == ["size_fit"]
        everyone = (await client.get("/v1/returns/analytics")).json()
        assert everyone["delivered_units"] >= 9 and everyone["returns"] >= 2
        nobody = (await client.get("/v1/returns/analytics", headers=as_(a_channel()))).json()
        assert (nobody["returns"], nobody["delivered_units"], nobody["by_channel"]) == (0, 0, [])

    async def test_another_channels_return_is_missing_for_every_step_and_stays_unchanged(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        put = await client.put("/v1/return-policy", json=policy | {"review_reasons": ["damaged"]})
        assert put.status_code == 200
        channel = a_channel()
        order = await delivered_order(container, units=3, channel=channel)
        waiting = (await open_(client, return_body(order, 1, "damaged"))).json()
        assert waiting["status"] == "requested"
        rid, missing = waiting["id"], str(uuid.uuid4())
        other = as_(a_channel())

        steps: list[tuple[str, dict[str, Any] | None]] = [
            ("approve", None),
            ("reject", {"reason": "worn"}),
            ("drop_off", None),
            ("receive", receipt(order)),
            ("refunds/retry", None),
        ]
        for step, body in steps:
            same_as_missing(
                await client.post(f"/v1/returns/{rid}/{step}", json=body, headers=other),
                rid,
                await client.post(f"/v1/returns/{missing}/{step}", json=body, headers=other),
                missing,
            )
        after = (await client.get(f"/v1/returns/{rid}")).json()
        assert after == waiting

        mine = as_(channel)
        approved = await client.post(f"/v1/returns/{rid}/approve", headers=mine)
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        dropped = await client.post(f"/v1/returns/{rid}/drop_off", headers=mine)
        assert dropped.status_code == 200 and dropped.json()["status"] == "in_transit"
        received = await client.post(
            f"/v1/returns/{rid}/receive", json=receipt(order), headers=mine
        )
        assert received.status_code == 200, received.text
        assert received.json()["receipts"][0]["location_code"] == "WH-BER"

        other_waiting = (await open_(client, return_body(order, 1, "damaged"))).json()
        rejected = await client.post(
            f"/v1/returns/{other_waiting['id']}/reject", json={"reason": "worn"}, headers=mine
        )
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"

    async def test_opening_a_return_on_another_channels_order_is_an_unknown_order(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        assert (await client.put("/v1/return-policy", json=policy)).status_code == 200
        channel = a_channel()
        order = await delivered_order(container, channel=channel)
        ghost_id = str(uuid.uuid4())
        other = as_(a_channel())
        key = {"Idempotency-Key": str(uuid.uuid4())}

        hidden = await open_(client, return_body(order), headers=other | key)
        unknown = await open_(client, return_body(order) | {"order_id": ghost_id}, headers=other)
        # What an unnarrowed caller is told about an order that does not exist, too.
        unknown_to_all = await open_(client, return_body(order) | {"order_id": ghost_id})

        problem(hidden, 404, "order_not_found")
        same_as_missing(hidden, order["id"], unknown, ghost_id)
        same_as_missing(hidden, order["id"], unknown_to_all, ghost_id)
        async with container.session_factory() as s:
            written = await s.scalar(
                select(func.count()).where(return_request.c.order_id == uuid.UUID(order["id"]))
            )
        assert written == 0

        opened = await open_(client, return_body(order), headers=as_(channel) | key)
        assert opened.status_code == 201, opened.text
        assert opened.json()["order_id"] == order["id"]

    async def test_a_refund_retry_of_another_channel_is_missing_and_of_its_own_goes_ahead(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        assert (await client.put("/v1/return-policy", json=policy)).status_code == 200
        channel = a_channel()
        order = await delivered_order(container, units=1, channel=channel)
        opened = (await open_(client, return_body(order, 1))).json()
        received = await client.post(f"/v1/returns/{opened['id']}/receive", json=receipt(order))
        (asked,) = received.json()["refunds"]
        await container.bus.handle(
            commands.RecordRefundOutcome(
                uuid.UUID(order["id"]), asked["id"], succeeded=False, reason="expired"
            )
        )
        refunder = [Scope.REFUNDS_WRITE]

        missing = str(uuid.uuid4())
        other = as_(a_channel(), scopes=refunder)
        same_as_missing(
            await client.post(f"/v1/returns/{opened['id']}/refunds/retry", headers=other),
            opened["id"],
            await client.post(f"/v1/returns/{missing}/refunds/retry", headers=other),
            missing,
        )
        assert len((await client.get(f"/v1/returns/{opened['id']}")).json()["refunds"]) == 1

        retried = await client.post(
            f"/v1/returns/{opened['id']}/refunds/retry", headers=as_(channel, scopes=refunder)
        )
        assert retried.status_code == 200, retried.text
        assert [f["status"] for f in retried.json()["refunds"]] == ["failed", "requested"]


class TestLocations:
    async def test_a_token_narrowed_to_locations_receives_only_there(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        assert (await client.put("/v1/return-policy", json=policy)).status_code == 200
        channel = a_channel()
        order = await delivered_order(container, units=2, channel=channel)
        opened = (await open_(client, return_body(order, 2))).json()
        rid = opened["id"]
        munich = as_(channel, locations=["WH-MUC"])

        refused = await client.post(
            f"/v1/returns/{rid}/receive", json=receipt(order), headers=munich
        )
        problem(refused, 403, "location_not_allowed")
        # The channel is checked first: another channel's return stays missing, wherever.
        hidden = await client.post(
            f"/v1/returns/{rid}/receive",
            json=receipt(order, "WH-MUC"),
            headers=as_(a_channel(), locations=["WH-MUC"]),
        )
        problem(hidden, 404, "return_not_found")
        assert (await client.get(f"/v1/returns/{rid}")).json() == opened

        here = await client.post(
            f"/v1/returns/{rid}/receive", json=receipt(order, "WH-MUC"), headers=munich
        )
        assert here.status_code == 200, here.text
        assert [r["location_code"] for r in here.json()["receipts"]] == ["WH-MUC"]
        # Without a locations claim, any location.
        anywhere = await client.post(
            f"/v1/returns/{rid}/receive", json=receipt(order), headers=as_(channel)
        )
        assert anywhere.status_code == 200, anywhere.text


class TestRequestBodies:
    async def test_fields_a_body_does_not_declare_are_refused_at_every_level(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container)
        body = return_body(order)
        line = body["lines"][0]
        sneaky = [
            ("/v1/returns", body | {"status": "refunded"}),
            ("/v1/returns", body | {"lines": [line | {"unit_price": "0.01"}]}),
            ("/v1/returns", body | {"resolution": {"type": "refund", "amount": "999"}}),
            ("/v1/returns/{id}/reject", {"reason": "worn", "status": "closed"}),
            (
                "/v1/returns/{id}/receive",
                receipt(order) | {"refunded_amount": "999"},
            ),
            (
                "/v1/returns/{id}/receive",
                {
                    "location_code": "WH-BER",
                    "lines": [
                        {
                            "line_id": order["line_id"],
                            "quantity": 1,
                            "condition": "resellable",
                            "disposition": "restock",
                        }
                    ],
                },
            ),
            (
                "/v1/self-service/returns",
                {k: v for k, v in body.items() if k != "order_id"}
                | {"order_number": order["number"], "email": order["email"], "channel": "x"},
            ),
        ]
        for path, sent in sneaky:
            problem(await client.post(path.format(id=RID), json=sent), 422, "validation_error")
        put = await client.put("/v1/return-policy", json=policy | {"version": 99})
        problem(put, 422, "validation_error")


class TestSelfService:
    async def test_a_customer_needs_no_token(
        self, container: ServiceContainer, anonymous: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container, channel=a_channel())
        proof = {"order_number": order["number"], "email": order["email"]}
        body = {k: v for k, v in return_body(order).items() if k != "order_id"}

        opened = await anonymous.post("/v1/self-service/returns", json=body | proof)
        listed = await anonymous.get("/v1/self-service/returns", params=proof)
        label = await anonymous.get(
            f"/v1/self-service/returns/{opened.json()['id']}/label", params=proof
        )

        assert opened.status_code == 201, opened.text
        assert [r["id"] for r in listed.json()["items"]] == [opened.json()["id"]]
        assert label.status_code == 200 and label.content.startswith(b"%PDF")

    async def test_an_unknown_order_and_a_wrong_email_get_the_same_answer_everywhere(
        self, container: ServiceContainer, anonymous: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container, email="grace@example.com")
        proof = {"order_number": order["number"], "email": "grace@example.com"}
        body = {k: v for k, v in return_body(order).items() if k != "order_id"}
        opened = (await anonymous.post("/v1/self-service/returns", json=body | proof)).json()
        wrong = proof | {"email": "eve@example.com"}
        unknown = proof | {"order_number": f"OMS-{uuid.uuid4().hex[:10].upper()}"}

        def answer(r: httpx.Response) -> tuple[int, dict[str, str], dict[str, Any]]:
            content = r.json()
            content.pop("instance", None)
            return r.status_code, {"content-type": r.headers["content-type"]}, content

        async def ask(route: str, p: dict[str, str]) -> httpx.Response:
            if route == "open":
                return await anonymous.post("/v1/self-service/returns", json=body | p)
            if route == "list":
                return await anonymous.get("/v1/self-service/returns", params=p)
            return await anonymous.get(f"/v1/self-service/returns/{opened['id']}/label", params=p)

        for route in ("open", "list", "label"):
            to_wrong, to_unknown = (
                answer(await ask(route, wrong)),
                answer(await ask(route, unknown)),
            )
            assert to_wrong == to_unknown
            assert to_wrong[0] == 404 and to_wrong[2]["code"] == "order_not_found"

    async def test_the_email_is_compared_even_when_the_order_number_is_unknown(
        self,
        container: ServiceContainer,
        anonymous: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        compared: list[tuple[str, str]] = []
        real = self_service.email_matches

        def spy(on_order: str, given: str) -> bool:
            compared.append((on_order, given))
            return real(on_order, given)

        monkeypatch.setattr(self_service, "email_matches", spy)
        order = await delivered_order(container, email="grace@example.com")
        unknown = {"order_number": "OMS-NOT-AN-ORDER", "email": "grace@example.com"}
        wrong = {"order_number": order["number"], "email": "eve@example.com"}

        problem(
            await anonymous.get("/v1/self-service/returns", params=unknown), 404, "order_not_found"
        )
        problem(
            await anonymous.get("/v1/self-service/returns", params=wrong), 404, "order_not_found"
        )

        assert compared == [
            (self_service.NO_ORDER_EMAIL, "grace@example.com"),
            ("grace@example.com", "eve@example.com"),
        ]
        assert not real(self_service.NO_ORDER_EMAIL, "grace@example.com")

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/v1/self-service/returns"),
            ("GET", "/v1/self-service/returns"),
            ("GET", f"/v1/self-service/returns/{RID}/label"),
        ],
    )
    async def test_every_self_service_operation_is_rate_limited_per_address(
        self,
        container: ServiceContainer,
        anonymous: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        method: str,
        path: str,
    ) -> None:
        tight = RateLimiter(rate_per_s=0.001, burst=1)
        monkeypatch.setattr(
            container, "access", dataclasses.replace(container.access, self_service_limiter=tight)
        )
        proof = {"order_number": "OMS-NOT-AN-ORDER", "email": "grace@example.com"}

        first = await anonymous.request(method, path, params=proof)
        second = await anonymous.request(method, path, params=proof)

        assert first.status_code != 429, first.text
        problem(second, 429, "rate_limited")
        assert int(second.headers["Retry-After"]) >= 1
