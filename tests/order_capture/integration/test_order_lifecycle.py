"""Editing, cancelling, self-service, listing and the timeline, on the real database; reports
from the other services are applied through the same bus the Kafka consumer uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from libs.http.pagination import encode_cursor
from libs.outbox.inbox import InboxEntry
from libs.runtime import ServiceContainer
from services.order_capture.domain import commands
from tests.order_capture.integration.conftest import published
from tests.support.orders import order_body

pytestmark = pytest.mark.usefixtures("migrated_databases")

NEW_ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "Friedrichstr. 100",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    r = await client.post("/v1/orders", json=order_body(**overrides))
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


def report(cls: type[commands.Report], order: dict[str, Any], key: str, **fields: Any) -> Any:
    return cls(
        order_id=UUID(order["id"]),
        fact_key=key,
        source="orchestration",
        at=datetime.now(UTC),
        reason=f"test {key}",
        **fields,
    )


def all_lines(order: dict[str, Any], quantity: int | None = None) -> dict[UUID, int]:
    return {UUID(ln["id"]): quantity or ln["quantity"] for ln in order["lines"]}


async def ship_everything(container: ServiceContainer, order: dict[str, Any]) -> None:
    await container.bus.handle(
        report(
            commands.RecordShipment,
            order,
            f"shipment:{uuid.uuid4()}",
            shipment_id="SHP-1",
            carrier="dhl",
            tracking_number="00340434161094042557",
            quantities=all_lines(order),
        )
    )


class TestEdit:
    async def test_an_address_change_with_the_current_etag_is_published_for_replanning(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        r = await client.patch(
            f"/v1/orders/{order['id']}",
            json={"shipping_address": NEW_ADDRESS, "notes": "Leave at the door"},
            headers={"If-Match": '"1"'},
        )
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == '"2"'
        assert r.json()["shipping_address"]["line1"] == "Friedrichstr. 100"
        assert r.json()["notes"] == "Leave at the door"
        updated = (await published(container, order["id"]))[-1]
        assert updated["type"] == "oms.order.updated"
        assert updated["data"]["changed_fields"] == ["shipping_address", "notes"]
        assert updated["data"]["replan_required"] is True
        assert updated["data"]["sequence"] == 2

    async def test_a_stale_etag_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        first = await client.patch(
            f"/v1/orders/{order['id']}", json={"notes": "one"}, headers={"If-Match": '"1"'}
        )
        assert first.status_code == 200
        stale = await client.patch(
            f"/v1/orders/{order['id']}", json={"notes": "two"}, headers={"If-Match": '"1"'}
        )
        assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
        assert stale.json()["extensions"]["current_version"] == 2
        assert (await client.get(f"/v1/orders/{order['id']}")).json()["notes"] == "one"
        assert len(await published(container, order["id"])) == 2

    async def test_without_if_match_is_428(self, client: httpx.AsyncClient) -> None:
        order = await place(client)
        r = await client.patch(f"/v1/orders/{order['id']}", json={"notes": "x"})
        assert (r.status_code, r.json()["code"]) == (428, "precondition_required")

    async def test_nothing_changed_keeps_the_version_and_publishes_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        r = await client.patch(
            f"/v1/orders/{order['id']}",
            json={"delivery": {"method": "ship", "service_level": "standard"}},
            headers={"If-Match": '"1"'},
        )
        assert (r.status_code, r.headers["etag"]) == (200, '"1"')
        assert len(await published(container, order["id"])) == 1

    async def test_once_shipped_the_order_is_not_editable(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        await ship_everything(container, order)
        etag = (await client.get(f"/v1/orders/{order['id']}")).headers["etag"]
        r = await client.patch(
            f"/v1/orders/{order['id']}", json={"notes": "late"}, headers={"If-Match": etag}
        )
        assert (r.status_code, r.json()["code"]) == (409, "order_not_editable")

    async def test_status_cannot_be_patched(self, client: httpx.AsyncClient) -> None:
        order = await place(client)
        r = await client.patch(
            f"/v1/orders/{order['id']}", json={"status": "shipped"}, headers={"If-Match": '"1"'}
        )
        assert r.status_code == 422
        assert "status" in [e["field"] for e in r.json()["errors"]]


class TestPriority:
    async def test_an_expedited_order_is_published_once_and_shown(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        assert order["priority"] == "normal"
        body = {"priority": "high", "reason": "VIP customer"}
        r = await client.post(f"/v1/orders/{order['id']}/priority", json=body)
        assert r.status_code == 200, r.text
        assert (r.json()["priority"], r.headers["etag"]) == ("high", '"2"')
        again = await client.post(f"/v1/orders/{order['id']}/priority", json=body)
        assert (again.status_code, again.json()["version"]) == (200, 2)
        events = await published(container, order["id"])
        assert [e["type"] for e in events] == ["oms.order.placed", "oms.order.priority_changed"]
        assert events[-1]["data"]["priority"] == "high"
        assert events[-1]["data"]["previous_priority"] == "normal"
        timeline = (await client.get(f"/v1/orders/{order['id']}/timeline")).json()["items"]
        assert "priority_changed" in [entry["kind"] for entry in timeline]

    async def test_a_shipped_order_is_409_and_an_unknown_priority_422(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        bad = await client.post(f"/v1/orders/{order['id']}/priority", json={"priority": "asap"})
        assert bad.status_code == 422, bad.text
        await ship_everything(container, order)
        r = await client.post(f"/v1/orders/{order['id']}/priority", json={"priority": "high"})
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "order_not_editable"
        assert r.headers["content-type"].startswith("application/problem+json")


class TestCancel:
    async def test_a_full_cancel_cancels_every_unit_and_repeating_it_is_harmless(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        url = f"/v1/orders/{order['id']}/cancel"
        first = await client.post(url, json={"reason": "customer changed their mind"})
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "cancelled"
        assert [ln["quantities"]["cancelled"] for ln in first.json()["lines"]] == [2, 1]
        again = await client.post(url, json={"reason": "customer changed their mind"})
        assert (again.status_code, again.json()["status"]) == (200, "cancelled")
        events = await published(container, order["id"])
        assert [e["type"] for e in events] == [
            "oms.order.placed",
            "oms.order.cancellation_requested",
            "oms.order.status_changed",
            "oms.order.cancelled",
        ]
        assert [e["data"]["sequence"] for e in events] == [1, 2, 3, 4]
        assert events[1]["data"]["whole_order"] is True
        assert events[2]["data"]["previous_status"] == "pending"

    async def test_a_partial_cancel_takes_just_those_units(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        lamp = order["lines"][0]
        r = await client.post(
            f"/v1/orders/{order['id']}/cancel",
            json={"reason": "one is enough", "lines": [{"line_id": lamp["id"], "quantity": 1}]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "pending"
        assert [ln["quantities"]["cancelled"] for ln in r.json()["lines"]] == [1, 0]
        requested = (await published(container, order["id"]))[-1]
        assert requested["type"] == "oms.order.cancellation_requested"
        assert requested["data"]["lines"] == [
            {"line_id": lamp["id"], "sku": lamp["sku"], "quantity": 1}
        ]
        assert requested["data"]["whole_order"] is False

    async def test_a_retried_partial_cancel_with_its_key_applies_once(
        self, client: httpx.AsyncClient
    ) -> None:
        order = await place(client)
        body = {"reason": "r", "lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]}
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        for _ in range(2):
            r = await client.post(f"/v1/orders/{order['id']}/cancel", json=body, headers=headers)
            assert r.status_code == 200
        assert r.json()["lines"][0]["quantities"]["cancelled"] == 1

    async def test_shipped_units_cannot_be_cancelled(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        await ship_everything(container, order)
        full = await client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "late"})
        assert (full.status_code, full.json()["code"]) == (409, "order_not_cancellable")
        partial = await client.post(
            f"/v1/orders/{order['id']}/cancel",
            json={"reason": "late", "lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]},
        )
        assert (partial.status_code, partial.json()["code"]) == (409, "cancel_quantity_too_large")

    async def test_a_reason_is_required_and_lines_must_belong_to_the_order(
        self, client: httpx.AsyncClient
    ) -> None:
        order = await place(client)
        url = f"/v1/orders/{order['id']}/cancel"
        assert (await client.post(url, json={})).status_code == 422
        r = await client.post(
            url, json={"reason": "x", "lines": [{"line_id": str(uuid.uuid4()), "quantity": 1}]}
        )
        assert (r.status_code, r.json()["code"]) == (422, "unknown_line")

    async def test_an_unknown_order_is_404(self, client: httpx.AsyncClient) -> None:
        r = await client.post(f"/v1/orders/{uuid.uuid4()}/cancel", json={"reason": "x"})
        assert (r.status_code, r.json()["code"]) == (404, "order_not_found")


class TestSelfService:
    async def test_the_customer_sees_status_lines_and_tracking_only(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        await ship_everything(container, order)
        r = await client.get(
            f"/v1/self-service/orders/{order['order_number']}", params={"email": "ADA@example.com"}
        )
        assert r.status_code == 200, r.text
        view = r.json()
        assert set(view) == {"order_number", "status", "lines", "tracking"}
        assert view["status"] == "shipped"
        assert view["tracking"][0]["tracking_number"] == "00340434161094042557"
        assert "Unter den Linden" not in r.text and "tok_" not in r.text

    async def test_a_wrong_email_answers_exactly_like_an_unknown_order(
        self, client: httpx.AsyncClient
    ) -> None:
        order = await place(client)
        wrong = await client.get(
            f"/v1/self-service/orders/{order['order_number']}", params={"email": "eve@example.com"}
        )
        unknown = await client.get(
            "/v1/self-service/orders/OMS-99999999", params={"email": "eve@example.com"}
        )
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json() == unknown.json()
        assert wrong.headers["content-type"] == unknown.headers["content-type"]
        cancel = await client.post(
            f"/v1/self-service/orders/{order['order_number']}/cancel",
            json={"email": "eve@example.com"},
        )
        assert (cancel.status_code, cancel.json()) == (404, unknown.json())
        assert (await client.get(f"/v1/orders/{order['id']}")).json()["status"] == "pending"

    async def test_the_customer_cancels_until_something_ships(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order, shipped = await place(client), await place(client)
        await ship_everything(container, shipped)
        ok = await client.post(
            f"/v1/self-service/orders/{order['order_number']}/cancel",
            json={"email": "ada@example.com", "reason": "ordered twice"},
        )
        assert (ok.status_code, ok.json()["status"]) == (200, "cancelled")
        late = await client.post(
            f"/v1/self-service/orders/{shipped['order_number']}/cancel",
            json={"email": "ada@example.com"},
        )
        assert (late.status_code, late.json()["code"]) == (409, "order_not_cancellable")
        events = await published(container, order["id"])
        assert events[1]["data"]["requested_by"] == "customer"


class TestListAndTimeline:
    async def test_filters_combine(self, client: httpx.AsyncClient) -> None:
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        sku = f"RARE-{uuid.uuid4().hex[:6]}"
        customer = {"email": email, "name": "Filter Test"}
        a = await place(client, channel="pos", customer=customer)
        b = await place(
            client, channel="web", customer=customer, lines=[(sku, 1, "3.00"), ("X-1", 1, "1")]
        )
        since = datetime.fromisoformat(a["created_at"]) - timedelta(seconds=1)

        async def ids(**params: Any) -> list[str]:
            r = await client.get("/v1/orders", params=params)
            assert r.status_code == 200, r.text
            return [o["id"] for o in r.json()["items"]]

        assert await ids(customer_email=email.upper()) == [b["id"], a["id"]]
        assert await ids(customer_email=email, channel="pos") == [a["id"]]
        assert await ids(sku=sku) == [b["id"]]
        assert await ids(customer_email=email, status="pending", created_from=since.isoformat())
        assert await ids(customer_email=email, created_to=since.isoformat()) == []
        assert await ids(customer_email=email, status="shipped") == []

    async def test_bad_filters_are_422(self, client: httpx.AsyncClient) -> None:
        for params in ({"status": "lost"}, {"channel": "fax"}, {"created_from": "yesterday"}):
            r = await client.get("/v1/orders", params=params)
            assert (r.status_code, r.json()["code"]) == (422, "validation_error")

    async def test_pages_newest_first_without_overlap(self, client: httpx.AsyncClient) -> None:
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        created = [
            (await place(client, customer={"email": email, "name": "P"}))["id"] for _ in range(3)
        ]
        first = (
            await client.get("/v1/orders", params={"limit": 2, "customer_email": email})
        ).json()
        second = (
            await client.get(
                "/v1/orders",
                params={"limit": 2, "customer_email": email, "cursor": first["next_cursor"]},
            )
        ).json()
        assert [o["id"] for o in first["items"] + second["items"]] == list(reversed(created))
        assert second["next_cursor"] is None

    @pytest.mark.parametrize(
        ("path", "values"),
        [
            # Numbers where the date-time and the id belong.
            ("/v1/orders", [1733385600, 42]),
            ("/v1/orders", ["2026-12-05T07:30:00+00:00", "not-a-uuid"]),
            # A date-time where the timeline's sequence number belongs.
            ("/v1/orders/{id}/timeline", ["2026-12-05T07:30:00+00:00"]),
        ],
    )
    async def test_a_cursor_with_values_of_the_wrong_type_is_422(
        self, client: httpx.AsyncClient, path: str, values: list[Any]
    ) -> None:
        # Decodable (base64 JSON of the list's length), yet not a cursor this list issued.
        order = await place(client)
        r = await client.get(path.format(id=order["id"]), params={"cursor": encode_cursor(values)})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_cursor"

    async def test_the_timeline_tells_the_story_with_sources(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        await container.bus.handle(
            commands.RecordStockReserved(
                order_id=UUID(order["id"]),
                fact_key="reservation:r1",
                source="inventory",
                at=datetime.now(UTC),
                reason="stock reserved",
                quantities_by_sku={"LAMP-1": 2, "BULB-9": 1},
            )
        )
        await client.post(
            f"/v1/orders/{order['id']}/cancel",
            json={
                "reason": "one is enough",
                "lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}],
            },
        )
        r = await client.get(f"/v1/orders/{order['id']}/timeline")
        assert r.status_code == 200
        entries = [(e["kind"], e["source"], e["status"]) for e in r.json()["items"]]
        assert entries == [
            ("placed", "order-capture", "pending"),
            ("stock_reserved", "inventory", None),
            ("status_changed", "inventory", "confirmed"),
            ("cancellation_requested", "order-capture", None),
        ]
        assert r.json()["items"][3]["reason"] == "one is enough"
        missing = await client.get(f"/v1/orders/{uuid.uuid4()}/timeline")
        assert missing.status_code == 404


class TestReports:
    async def test_a_redelivered_event_and_a_repeated_fact_apply_once(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        reserve = commands.RecordStockReserved(
            order_id=UUID(order["id"]),
            fact_key="reservation:same",
            source="inventory",
            at=datetime.now(UTC),
            reason="stock reserved",
            quantities_by_sku={"LAMP-1": 2, "BULB-9": 1},
        )
        inbox = InboxEntry(
            consumer="order-capture", event_id=str(uuid.uuid4()), event_type="t", topic="t"
        )
        await container.bus.handle(reserve, inbox=inbox)
        await container.bus.handle(reserve, inbox=inbox)  # redelivery: the inbox skips it
        await container.bus.handle(reserve)  # same fact, another event id: the fact key skips it
        fetched = (await client.get(f"/v1/orders/{order['id']}")).json()
        assert fetched["status"] == "confirmed"
        assert [ln["quantities"]["reserved"] for ln in fetched["lines"]] == [2, 1]
        assert fetched["version"] == 2
        assert [e["type"] for e in await published(container, order["id"])] == [
            "oms.order.placed",
            "oms.order.status_changed",
        ]

    async def test_a_late_report_never_moves_the_status_back(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        order = await place(client)
        await ship_everything(container, order)
        await container.bus.handle(
            commands.RecordStockShortage(
                order_id=UUID(order["id"]),
                fact_key="rejected:late",
                source="inventory",
                at=datetime.now(UTC),
                reason="late shortage",
                skus=("LAMP-1",),
            )
        )
        fetched = (await client.get(f"/v1/orders/{order['id']}")).json()
        assert fetched["status"] == "shipped"
        assert fetched["lines"][0]["quantities"]["backordered"] == 0
