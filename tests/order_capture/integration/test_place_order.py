"""POST /v1/orders: every channel, every validation failure, idempotency, duplicates, limits."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.messaging.topics import PAYMENT_COMMANDS
from libs.runtime import ServiceContainer
from services.order_capture.adapters.tables import plumbing, sales_order
from services.order_capture.api.app import create_app
from services.order_capture.domain.calendar import next_business_day
from services.order_capture.domain.values import Channel
from tests.order_capture.integration.conftest import client_for, count, published
from tests.support.orders import order_body
from tests.support.tokens import admin_headers

pytestmark = pytest.mark.usefixtures("migrated_databases")


async def orders_with_ref(container: ServiceContainer, ref: str) -> int:
    return await count(
        container, select(func.count()).where(sales_order.c.channel_order_ref == ref)
    )


class TestPlaceOrder:
    async def test_a_service_level_no_carrier_serves_is_refused_not_downgraded(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        ref = f"SD-{uuid.uuid4().hex[:8]}"
        same_day = order_body(channel_order_ref=ref)
        same_day["delivery"] = {"method": "ship", "service_level": "same_day"}
        express = order_body()
        express["delivery"] = {"method": "ship", "service_level": "express"}

        refused = await client.post("/v1/orders", json=same_day)
        placed = await client.post("/v1/orders", json=express)

        assert refused.status_code == 422
        assert refused.json()["code"] == "service_level_unavailable"
        assert refused.json()["extensions"]["offered"] == ["standard", "express"]
        assert await orders_with_ref(container, ref) == 0
        assert placed.status_code == 201, placed.text
        edit = await client.patch(
            f"/v1/orders/{placed.json()['id']}",
            json={"delivery": {"method": "ship", "service_level": "same_day"}},
            headers={"If-Match": placed.headers["ETag"]},
        )
        assert edit.status_code == 422
        assert edit.json()["code"] == "service_level_unavailable"

    @pytest.mark.parametrize("channel", [c.value for c in Channel])
    async def test_every_channel_places_a_pending_order(
        self, client: httpx.AsyncClient, channel: str
    ) -> None:
        r = await client.post("/v1/orders", json=order_body(channel=channel))
        assert r.status_code == 201, r.text
        assert (r.json()["channel"], r.json()["status"]) == (channel, "pending")

    async def test_computes_every_total_and_returns_the_whole_order(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        body = order_body(
            lines=[("LAMP-1", 2, "19.99")],
            shipping_amount="4.90",
            billing_address={
                "name": "Ada Lovelace",
                "line1": "Postfach 7",
                "city": "Berlin",
                "postal_code": "10001",
                "country": "DE",
            },
            requested_delivery_date="2099-01-15",
            tags=["gift", "vip"],
            metadata={"campaign": "black-friday"},
            notes="Ring twice",
        )
        body["lines"][0] |= {"discount_amount": "2.00", "tax_amount": "7.22", "name": "Lamp"}
        body["payment"]["amount"] = "50.10"
        body["totals"] = {"subtotal": "39.98", "grand_total": "50.10"}
        r = await client.post("/v1/orders", json=body)
        assert r.status_code == 201, r.text
        order = r.json()
        assert r.headers["location"] == f"/v1/orders/{order['id']}"
        assert r.headers["etag"] == '"1"'
        assert order["totals"] == {
            "subtotal": "39.98",
            "discount_total": "2.00",
            "tax_total": "7.22",
            "shipping_amount": "4.90",
            "grand_total": "50.10",
            "refunded": "0.00",
        }
        assert order["lines"][0]["line_total"] == "45.20"
        assert order["lines"][0]["quantities"] == {
            "ordered": 2,
            "reserved": 0,
            "backordered": 0,
            "allocated": 0,
            "shipped": 0,
            "delivered": 0,
            "cancelled": 0,
            "returned": 0,
            "refunded": 0,
        }
        assert order["billing_address"]["postal_code"] == "10001"
        assert (order["tags"], order["metadata"], order["notes"]) == (
            ["gift", "vip"],
            {"campaign": "black-friday"},
            "Ring twice",
        )
        assert order["payment"] == {"method": "card", "amount": "50.10", "authorization_ref": None}
        assert "token" not in r.text, "the payment token is never shown again"
        (placed,) = await published(container, order["id"])
        (authorize_with,) = await published(container, order["id"], PAYMENT_COMMANDS)
        assert placed["type"] == "oms.order.placed"
        assert placed["data"]["sequence"] == 1
        assert placed["data"]["totals"]["grand_total"] == "50.10"
        # The token never travels on the public event: only to orchestration, on its own topic.
        assert placed["data"]["payment"] == {
            "method": "card",
            "amount": "50.10",
            "authorization_ref": None,
        }
        assert "tok_test_4242" not in json.dumps(placed)
        assert authorize_with["type"] == "oms.payments.authorize_with"
        assert authorize_with["data"] == {"order_id": order["id"], "token": "tok_test_4242"}
        assert placed["data"]["shipping_address"]["country"] == "DE"

    async def test_pickup_orders_name_their_store(self, client: httpx.AsyncClient) -> None:
        body = order_body(
            delivery={"method": "pickup", "service_level": "standard", "pickup_location_code": "S1"}
        )
        r = await client.post("/v1/orders", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["delivery"]["pickup_location_code"] == "S1"

    async def test_zero_decimal_currencies_show_no_decimals(
        self, client: httpx.AsyncClient
    ) -> None:
        body = order_body(lines=[("CUP-1", 2, "1500")], shipping_amount="500", currency="JPY")
        r = await client.post("/v1/orders", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["totals"]["grand_total"] == "3500"

    @pytest.mark.parametrize("full", [False, True], ids=["plain", "every-field"])
    async def test_get_returns_what_post_returned(
        self, client: httpx.AsyncClient, full: bool
    ) -> None:
        """The 201 is rendered from the rows as they were written, not read back: it must be
        exactly what reading them gives."""
        body = order_body()
        if full:
            body = order_body(
                [("MUG-1", 3, "12.34"), ("TEA-2", 1, "0.10")],
                shipping_amount="0",
                billing_address=body["shipping_address"] | {"line2": "Hof 2", "region": "BE"},
                customer={
                    "id": "c-1",
                    "email": "Ada@Example.com",
                    "name": "Ada",
                    "phone": "+49 30 1234567",
                },
                requested_delivery_date="2099-01-31",
                tags=["gift", "vip"],
                metadata={"crm": "42", "note": "ünïcödé"},
                notes="leave at the door",
            )
            body["lines"][0] |= {"name": "Mug", "discount_amount": "1.23", "tax_amount": "0.5"}
            body["payment"]["amount"] = "36.39"
        created = await client.post("/v1/orders", json=body)
        assert created.status_code == 201, created.text
        fetched = await client.get(f"/v1/orders/{created.json()['id']}")
        assert fetched.status_code == 200
        assert fetched.json() == created.json()
        assert fetched.headers["ETag"] == created.headers["ETag"]
        assert created.headers["Location"] == f"/v1/orders/{created.json()['id']}"
        by_number = await client.get(f"/v1/orders/by-number/{created.json()['order_number']}")
        assert by_number.json() == created.json()

    async def test_text_the_database_cannot_store_is_422_and_writes_nothing(
        self, container: ServiceContainer
    ) -> None:
        body = order_body(customer={"email": "ada@example.com", "name": "Ada\u0000Lovelace"})
        app = create_app(container, parts=("api",))
        app.state.container = container
        # The answer comes from the app's last-resort handler, which re-raises after answering
        # (so a server logs it): only the answer is looked at here.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=admin_headers()
        ) as http:
            r = await http.post("/v1/orders", json=body)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_text")
        assert await orders_with_ref(container, body["channel_order_ref"]) == 0


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(body: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[leaf]
        elif leaf.isdigit():
            node[int(leaf)] = value
        else:
            node[leaf] = value

    return mutate


_DELETE = object()
PICKUP_WITHOUT_STORE = {"method": "pickup", "service_level": "standard"}
SHIP_WITH_STORE = {"method": "ship", "service_level": "standard", "pickup_location_code": "S1"}
TOO_MANY_LINES = [{"sku": f"SKU-{i}", "quantity": 1, "unit_price": "1.00"} for i in range(501)]

# (what is wrong, how the body is broken, expected code, the field the problem names or None)
INVALID_ORDERS: list[tuple[str, Callable[[dict[str, Any]], None], str, str | None]] = [
    ("unknown channel", _set("channel", "fax"), "validation_error", "channel"),
    ("no channel ref", _set("channel_order_ref", _DELETE), "validation_error", "channel_order_ref"),
    ("empty channel ref", _set("channel_order_ref", ""), "validation_error", "channel_order_ref"),
    ("no customer", _set("customer", _DELETE), "validation_error", "customer"),
    ("bad e-mail", _set("customer.email", "ada"), "validation_error", "customer.email"),
    ("no name", _set("customer.name", ""), "validation_error", "customer.name"),
    ("bad phone", _set("customer.phone", "call me"), "validation_error", "customer.phone"),
    ("no address", _set("shipping_address", _DELETE), "validation_error", "shipping_address"),
    (
        "no city",
        _set("shipping_address.city", _DELETE),
        "validation_error",
        "shipping_address.city",
    ),
    (
        "unknown country",
        _set("shipping_address.country", "XX"),
        "validation_error",
        "shipping_address.country",
    ),
    (
        "lower-case country",
        _set("shipping_address.country", "de"),
        "validation_error",
        "shipping_address.country",
    ),
    (
        "latitude 91",
        _set("shipping_address.latitude", 91),
        "validation_error",
        "shipping_address.latitude",
    ),
    ("no delivery", _set("delivery", _DELETE), "validation_error", "delivery"),
    ("bad method", _set("delivery.method", "drone"), "validation_error", "delivery.method"),
    (
        "bad service level",
        _set("delivery.service_level", "yesterday"),
        "validation_error",
        "delivery.service_level",
    ),
    (
        "pickup without store",
        _set("delivery", PICKUP_WITHOUT_STORE),
        "pickup_location_required",
        None,
    ),
    ("ship with a store", _set("delivery", SHIP_WITH_STORE), "pickup_location_required", None),
    ("unknown currency", _set("currency", "XYZ"), "validation_error", "currency"),
    ("no lines", _set("lines", []), "validation_error", "lines"),
    ("501 lines", _set("lines", TOO_MANY_LINES), "validation_error", "lines"),
    ("zero quantity", _set("lines.0.quantity", 0), "validation_error", "lines.0.quantity"),
    ("text quantity", _set("lines.0.quantity", "two"), "validation_error", "lines.0.quantity"),
    ("fractional quantity", _set("lines.0.quantity", 1.5), "validation_error", "lines.0.quantity"),
    ("negative price", _set("lines.0.unit_price", "-1"), "validation_error", "lines.0.unit_price"),
    (
        "float-ish price",
        _set("lines.0.unit_price", "abc"),
        "validation_error",
        "lines.0.unit_price",
    ),
    ("bad sku", _set("lines.0.sku", "has space"), "validation_error", "lines.0.sku"),
    (
        "too many decimals",
        _set("lines.0.unit_price", "19.999"),
        "amount_precision",
        None,
    ),
    ("discount over line", _set("lines.1.discount_amount", "5.00"), "discount_exceeds_line", None),
    ("no payment", _set("payment", _DELETE), "validation_error", "payment"),
    ("payment without token", _set("payment.token", _DELETE), "validation_error", "payment"),
    ("payment amount", _set("payment.amount", "1.00"), "payment_amount_mismatch", None),
    ("total mismatch", _set("totals", {"grand_total": "1.00"}), "total_mismatch", None),
    (
        "past delivery date",
        _set("requested_delivery_date", "2001-01-01"),
        "delivery_date_in_past",
        None,
    ),
    ("too many tags", _set("tags", [f"t{i}" for i in range(21)]), "validation_error", "tags"),
    (
        "metadata too big",
        _set("metadata", {f"k{i}": "v" for i in range(51)}),
        "validation_error",
        "metadata",
    ),
    ("metadata value", _set("metadata", {"k": "v" * 501}), "validation_error", "metadata.k"),
    ("client sets status", _set("status", "confirmed"), "validation_error", "status"),
    ("client sets a bucket", _set("lines.0.shipped", 2), "validation_error", "lines.0.shipped"),
]


class TestPayingWithAnEarlierOrdersToken:
    """An exchange's replacement order names the original order instead of a token: returns
    never holds one, and order-capture charges the original's (to orchestration alone)."""

    async def test_the_token_of_an_order_of_the_same_channel_and_customer_is_charged(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        body = order_body()
        body["payment"]["token"] = "tok_original_4242"
        first = await client.post("/v1/orders", json=body)
        assert first.status_code == 201, first.text
        again = order_body(customer={"email": "ADA@example.com", "name": "Ada Lovelace"})
        again["payment"] = {
            "method": "card",
            "token_of_order": first.json()["id"],
            "amount": again["payment"]["amount"],
        }

        r = await client.post("/v1/orders", json=again)

        assert r.status_code == 201, r.text
        assert "tok_original_4242" not in r.text
        (placed,) = await published(container, r.json()["id"])
        assert "tok_original_4242" not in json.dumps(placed)
        (authorize_with,) = await published(container, r.json()["id"], PAYMENT_COMMANDS)
        assert authorize_with["data"]["token"] == "tok_original_4242"

    @pytest.mark.parametrize(
        "other",
        [
            {"channel": "mobile_app"},
            {"customer": {"email": "grace@example.com", "name": "Grace Hopper"}},
            {"unknown_order": True},
        ],
        ids=["another channel", "another customer", "no such order"],
    )
    async def test_no_order_of_this_channel_and_customer_is_422_and_writes_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer, other: dict[str, Any]
    ) -> None:
        first = await client.post("/v1/orders", json=order_body())
        assert first.status_code == 201, first.text
        unknown = other.pop("unknown_order", False)
        body = order_body(**other)
        ref = body["channel_order_ref"]
        body["payment"] = {
            "method": "card",
            "token_of_order": str(uuid.uuid4()) if unknown else first.json()["id"],
            "amount": body["payment"]["amount"],
        }

        r = await client.post("/v1/orders", json=body)

        assert r.status_code == 422, r.text
        assert r.json()["code"] == "payment_source_unusable"
        placed = await count(
            container, select(func.count()).where(sales_order.c.channel_order_ref == ref)
        )
        assert placed == 0


class TestInvalidOrders:
    @pytest.mark.parametrize(
        ("mutate", "code", "field"),
        [pytest.param(m, c, f, id=name) for name, m, c, f in INVALID_ORDERS],
    )
    async def test_is_a_422_problem_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        container: ServiceContainer,
        mutate: Callable[[dict[str, Any]], None],
        code: str,
        field: str | None,
    ) -> None:
        body = order_body()
        mutate(body)
        outbox_before = await count(container, select(func.count()).select_from(plumbing.outbox))
        r = await client.post("/v1/orders", json=body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["code"] == code
        if field is not None:
            assert field in [e["field"] for e in problem["errors"]], problem
        ref = body.get("channel_order_ref")
        if isinstance(ref, str) and ref:
            assert await orders_with_ref(container, ref) == 0
        outbox_after = await count(container, select(func.count()).select_from(plumbing.outbox))
        assert outbox_after == outbox_before

    async def test_a_shipped_order_for_today_is_unreachable_and_names_the_earliest_day(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        today = datetime.now(UTC).date()
        ref = f"RDD-{uuid.uuid4().hex[:8]}"
        shipped = order_body(channel_order_ref=ref, requested_delivery_date=today.isoformat())
        pickup = order_body(requested_delivery_date=today.isoformat())
        pickup["delivery"] = {
            "method": "pickup",
            "service_level": "standard",
            "pickup_location_code": "STORE-7",
        }
        earliest = next_business_day(today).isoformat()
        in_time = order_body(requested_delivery_date=earliest)

        refused = await client.post("/v1/orders", json=shipped)

        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == "delivery_date_unreachable"
        assert problem["extensions"] == {
            "field": "requested_delivery_date",
            "earliest_delivery_date": earliest,
        }
        assert f"arrives on {earliest} at the earliest" in problem["detail"]
        assert await orders_with_ref(container, ref) == 0
        for accepted in (pickup, in_time):
            r = await client.post("/v1/orders", json=accepted)
            assert r.status_code == 201, r.text
            assert r.json()["requested_delivery_date"] == accepted["requested_delivery_date"]

    async def test_the_same_sku_twice_is_refused_not_merged(
        self, client: httpx.AsyncClient
    ) -> None:
        body = order_body(lines=[("LAMP-1", 1, "1.00"), ("LAMP-1", 2, "1.00")])
        r = await client.post("/v1/orders", json=body)
        assert (r.status_code, r.json()["code"]) == (422, "duplicate_sku")
        assert r.json()["extensions"]["skus"] == ["LAMP-1"]

    async def test_malformed_json_is_a_problem_not_a_500(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/v1/orders",
            content=b'{"channel": "web",',
            headers={"content-type": "application/json"},
        )
        assert (r.status_code, r.json()["code"]) == (422, "malformed_json")

    async def test_a_body_over_one_mebibyte_is_413(self, client: httpx.AsyncClient) -> None:
        body = order_body(notes="x" * (1024 * 1024))
        r = await client.post("/v1/orders", json=body)
        assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")

    async def test_a_streamed_body_over_one_mebibyte_is_413(
        self, client: httpx.AsyncClient
    ) -> None:
        async def chunks() -> Any:
            for _ in range(20):
                yield b" " * 65536

        r = await client.post(
            "/v1/orders", content=chunks(), headers={"content-type": "application/json"}
        )
        assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")


class TestIdempotencyKey:
    async def test_ten_concurrent_posts_with_one_key_make_one_order(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        body, key = order_body(), str(uuid.uuid4())
        responses = await asyncio.gather(
            *(
                client.post("/v1/orders", json=body, headers={"Idempotency-Key": key})
                for _ in range(10)
            )
        )
        assert {r.status_code for r in responses} == {201}
        assert len({r.json()["id"] for r in responses}) == 1
        assert await orders_with_ref(container, body["channel_order_ref"]) == 1
        assert len(await published(container, responses[0].json()["id"])) == 1

    async def test_a_replay_after_a_restart_returns_the_original_order(
        self, container: ServiceContainer
    ) -> None:
        from services.order_capture.bootstrap import bootstrap

        body, key = order_body(), str(uuid.uuid4())
        async with client_for(container) as before:
            first = await before.post("/v1/orders", json=body, headers={"Idempotency-Key": key})
        restarted = bootstrap()  # a new process's container: nothing remembered in memory
        try:
            async with client_for(restarted) as after:
                again = await after.post("/v1/orders", json=body, headers={"Idempotency-Key": key})
        finally:
            await restarted.close()
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()

    async def test_same_key_other_body_is_409(self, client: httpx.AsyncClient) -> None:
        key = str(uuid.uuid4())
        await client.post("/v1/orders", json=order_body(), headers={"Idempotency-Key": key})
        r = await client.post("/v1/orders", json=order_body(), headers={"Idempotency-Key": key})
        assert (r.status_code, r.json()["code"]) == (409, "idempotency_key_reused")


class TestDuplicateChannelOrder:
    async def test_a_second_order_with_the_ref_names_the_first(
        self, client: httpx.AsyncClient
    ) -> None:
        body = order_body(channel="marketplace")
        first = (await client.post("/v1/orders", json=body)).json()
        r = await client.post(
            "/v1/orders",
            json=order_body(
                **{"channel": "marketplace", "channel_order_ref": body["channel_order_ref"]}
            ),
        )
        assert (r.status_code, r.json()["code"]) == (409, "duplicate_channel_order")
        assert r.json()["extensions"]["existing_order_id"] == first["id"]

    async def test_the_same_ref_on_another_channel_is_another_order(
        self, client: httpx.AsyncClient
    ) -> None:
        body = order_body(channel="web")
        assert (await client.post("/v1/orders", json=body)).status_code == 201
        other = order_body(channel="pos", channel_order_ref=body["channel_order_ref"])
        assert (await client.post("/v1/orders", json=other)).status_code == 201

    async def test_concurrent_duplicates_make_one_order(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        body = order_body()
        responses = await asyncio.gather(*(client.post("/v1/orders", json=body) for _ in range(5)))
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
        winner = next(r.json()["id"] for r in responses if r.status_code == 201)
        assert {
            r.json()["extensions"]["existing_order_id"] for r in responses if r.status_code == 409
        } == {winner}
        assert await orders_with_ref(container, body["channel_order_ref"]) == 1
