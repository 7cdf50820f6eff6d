"""The returns API in-process against the real database: every refusal as problem+json with
its stable code, review, self-service, policy versions, idempotency and analytics."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.http.pagination import encode_cursor
from libs.runtime import ServiceContainer
from services.returns.adapters.tables import return_request
from services.returns.domain import commands
from tests.returns.integration.conftest import delivered_order, return_body


async def open_(
    client: httpx.AsyncClient, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/returns", json=body, headers={"Idempotency-Key": key or str(uuid.uuid4())}
    )


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


class TestRefusals:
    async def test_more_than_was_delivered_counting_earlier_returns_is_refused(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container, units=2)
        assert (await open_(client, return_body(order, 1))).status_code == 201

        refused = await open_(client, return_body(order, 2))

        body = problem(refused, 422, "exceeds_returnable")
        assert "1 already in returns" in body["detail"]

    async def test_unknown_lines_duplicates_and_bad_shapes_are_refused_and_nothing_is_written(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container)
        unknown = return_body(order) | {
            "lines": [{"line_id": str(uuid.uuid4()), "quantity": 1, "reason": "other"}]
        }
        twice = return_body(order) | {"lines": return_body(order)["lines"] * 2}
        in_store_nowhere = return_body(order, method="in_store")
        exchange_for_nothing = return_body(order, resolution={"type": "exchange"})

        problem(await open_(client, unknown), 422, "unknown_line")
        problem(await open_(client, twice), 422, "duplicate_line")
        problem(await open_(client, in_store_nowhere), 422, "validation_error")
        problem(await open_(client, exchange_for_nothing), 422, "validation_error")
        problem(await open_(client, return_body(order, 0)), 422, "validation_error")
        async with container.session_factory() as s:
            written = await s.scalar(
                select(func.count()).where(return_request.c.order_id == uuid.UUID(order["id"]))
            )
        assert written == 0

    async def test_outside_the_window_and_non_returnable_skus_say_why(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        old = await delivered_order(container, delivered_days_ago=31)
        final_sale = await delivered_order(container)
        put = await client.put(
            "/v1/return-policy", json=policy | {"non_returnable_skus": [final_sale["sku"]]}
        )
        assert put.status_code == 200

        problem(await open_(client, return_body(old)), 422, "outside_return_window")
        problem(await open_(client, return_body(final_sale)), 422, "not_returnable")

    async def test_an_unknown_order_is_404_and_receiving_twice_is_409(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container)
        ghost = return_body(order) | {"order_id": str(uuid.uuid4())}
        problem(await open_(client, ghost), 404, "order_not_found")
        problem(await client.get(f"/v1/returns/{uuid.uuid4()}"), 404, "return_not_found")

        opened = (await open_(client, return_body(order, 1))).json()
        receipt = {
            "location_code": "WH-BER",
            "lines": [{"line_id": order["line_id"], "quantity": 1, "condition": "resellable"}],
        }
        first = await client.post(f"/v1/returns/{opened['id']}/receive", json=receipt)
        assert first.status_code == 200, first.text
        problem(
            await client.post(f"/v1/returns/{opened['id']}/receive", json=receipt),
            409,
            "exceeds_expected_units",
        )


class TestList:
    async def test_an_orders_returns_page_newest_first_and_the_cursor_walks_them_once(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container, units=5)
        opened = []
        for _ in range(5):
            r = await open_(client, return_body(order, 1))
            assert r.status_code == 201, r.text
            opened.append(r.json()["id"])

        seen: list[str] = []
        pages = 0
        params: dict[str, Any] = {"order_id": order["id"], "limit": 2}
        while True:
            r = await client.get("/v1/returns", params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            assert len(page["items"]) <= 2
            seen += [item["id"] for item in page["items"]]
            pages += 1
            if not page.get("next_cursor"):
                break
            params["cursor"] = page["next_cursor"]

        assert pages == 3
        assert seen == list(reversed(opened))  # newest first, each once

    @pytest.mark.parametrize(
        "values",
        [
            [1733385600, 42],  # numbers for the date-time and the id
            ["2026-12-05T07:30:00+00:00", "not-a-uuid"],
        ],
    )
    async def test_a_cursor_with_values_of_the_wrong_type_is_422(
        self, client: httpx.AsyncClient, values: list[Any]
    ) -> None:
        # Decodable (base64 JSON of the list's length), yet not a cursor this list issued.
        r = await client.get("/v1/returns", params={"cursor": encode_cursor(values)})
        problem(r, 422, "invalid_cursor")


class TestReviewAndIdempotency:
    async def test_a_reason_under_review_waits_and_a_person_decides(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        await client.put("/v1/return-policy", json=policy | {"review_reasons": ["damaged"]})
        order = await delivered_order(container, units=2)

        waiting = (await open_(client, return_body(order, 1, "damaged"))).json()
        assert waiting["status"] == "requested" and waiting["label"] is None
        approved = await client.post(f"/v1/returns/{waiting['id']}/approve")
        assert approved.json()["status"] == "approved" and approved.json()["label"]
        again = await client.post(f"/v1/returns/{waiting['id']}/approve")
        assert again.status_code == 200  # a repeat is harmless

        other = (await open_(client, return_body(order, 1, "damaged"))).json()
        rejected = await client.post(f"/v1/returns/{other['id']}/reject", json={"reason": "worn"})
        assert rejected.json()["status"] == "rejected"
        problem(await client.post(f"/v1/returns/{other['id']}/approve"), 409, "action_not_allowed")
        # A rejected return does not count: its unit may be returned again.
        assert (await open_(client, return_body(order, 1, "size_fit"))).status_code == 201

    async def test_the_same_key_returns_the_same_return_and_another_body_is_409(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container, units=2)
        key = str(uuid.uuid4())

        first = await open_(client, return_body(order, 1), key)
        second = await open_(client, return_body(order, 1), key)
        other = await open_(client, return_body(order, 2), key)

        assert first.status_code == 201 and second.status_code == 201
        assert first.json()["id"] == second.json()["id"]
        problem(other, 409, "idempotency_key_reused")


class TestSelfService:
    async def test_a_customer_opens_and_follows_a_return_and_a_wrong_email_learns_nothing(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container, email="grace@example.com")
        body = {k: v for k, v in return_body(order).items() if k != "order_id"}

        wrong = await client.post(
            "/v1/self-service/returns",
            json=body | {"order_number": order["number"], "email": "eve@example.com"},
        )
        unknown = await client.post(
            "/v1/self-service/returns",
            json=body | {"order_number": "OMS-NOPE", "email": "grace@example.com"},
        )
        # The same answer for a wrong e-mail as for an order that does not exist.
        same = {k: v for k, v in problem(wrong, 404, "order_not_found").items() if k != "instance"}
        assert same == {
            k: v for k, v in problem(unknown, 404, "order_not_found").items() if k != "instance"
        }

        opened = await client.post(
            "/v1/self-service/returns",
            json=body | {"order_number": order["number"], "email": "GRACE@example.com "},
        )
        assert opened.status_code == 201, opened.text
        mine = await client.get(
            "/v1/self-service/returns",
            params={"order_number": order["number"], "email": "grace@example.com"},
        )
        assert [r["id"] for r in mine.json()["items"]] == [opened.json()["id"]]
        label = await client.get(
            f"/v1/self-service/returns/{opened.json()['id']}/label",
            params={"order_number": order["number"], "email": "grace@example.com"},
        )
        assert label.status_code == 200 and label.content.startswith(b"%PDF")
        problem(
            await client.get(
                "/v1/self-service/returns",
                params={"order_number": order["number"], "email": "eve@example.com"},
            ),
            404,
            "order_not_found",
        )


class TestPolicyAndAnalytics:
    async def test_every_put_is_a_version_and_a_stale_if_match_is_412(
        self, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        current = await client.get("/v1/return-policy")
        version = current.json()["version"]
        assert current.headers["ETag"] == f'"{version}"'

        put = await client.put(
            "/v1/return-policy", json=policy, headers={"If-Match": f'"{version}"'}
        )
        stale = await client.put(
            "/v1/return-policy", json=policy, headers={"If-Match": f'"{version}"'}
        )

        assert put.json()["version"] == version + 1
        problem(stale, 412, "precondition_failed")

    async def test_return_rates_count_returned_units_per_delivered_unit(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container, units=4)
        assert (await open_(client, return_body(order, 1, "size_fit"))).status_code == 201

        found = (await client.get("/v1/returns/analytics")).json()

        (mine,) = [s for s in found["by_sku"] if s["key"] == order["sku"]]
        assert (mine["returned_units"], mine["delivered_units"], mine["rate"]) == (1, 4, 0.25)
        assert any(r["key"] == "size_fit" for r in found["by_reason"])
        assert found["returned_units"] >= 1 and found["delivered_units"] >= 4


class TestRefundRetry:
    async def test_a_failed_refund_is_retried_under_a_new_id_and_the_return_then_closes(
        self, container: ServiceContainer, client: httpx.AsyncClient, policy: dict[str, Any]
    ) -> None:
        order = await delivered_order(container, units=1)
        opened = (await open_(client, return_body(order, 1))).json()
        problem(
            await client.post(f"/v1/returns/{opened['id']}/refunds/retry"),
            409,
            "action_not_allowed",
        )
        receipt = {
            "location_code": "WH-BER",
            "lines": [{"line_id": order["line_id"], "quantity": 1, "condition": "resellable"}],
        }
        received = (await client.post(f"/v1/returns/{opened['id']}/receive", json=receipt)).json()
        (asked,) = received["refunds"]
        order_id = uuid.UUID(order["id"])
        await container.bus.handle(
            commands.RecordRefundOutcome(order_id, asked["id"], succeeded=False, reason="expired")
        )

        retried = await client.post(f"/v1/returns/{opened['id']}/refunds/retry")

        assert retried.status_code == 200, retried.text
        failed, again = retried.json()["refunds"]
        assert (failed["status"], again["status"]) == ("failed", "requested")
        assert again["amount"] == asked["amount"] and again["id"] != asked["id"]
        await container.bus.handle(
            commands.RecordRefundOutcome(order_id, again["id"], succeeded=True)
        )
        closed = (await client.get(f"/v1/returns/{opened['id']}")).json()
        assert (closed["status"], closed["refunded_amount"]) == ("closed", asked["amount"])
