"""Backorder fairness: orders waiting for incoming stock are served by priority, then by
order time (not by when they reached inventory), and freed stock goes to them first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from libs.runtime import ServiceContainer
from services.inventory.domain.commands import ReleaseOrder
from tests.inventory.integration.conftest import create_location, published, stock, unique

pytestmark = pytest.mark.usefixtures("migrated_databases")

EXPECTED_AT = datetime(2030, 12, 1, 8, tzinfo=UTC)
T0 = datetime(2026, 11, 20, 9, tzinfo=UTC)


async def shelf(client: httpx.AsyncClient, *, on_hand: int, incoming: int) -> tuple[str, str, str]:
    """A fresh location and SKU with `on_hand` units and an inbound delivery of `incoming`."""
    code, sku = unique("WH"), unique("SKU")
    await create_location(client, code)
    await stock(client, code, sku, on_hand)
    return code, sku, await expect(client, code, sku, incoming, at=EXPECTED_AT)


async def expect(
    client: httpx.AsyncClient, code: str, sku: str, units: int, *, at: datetime
) -> str:
    """Another delivery of `units` expected at the location; its id."""
    r = await client.post(
        "/v1/inbound",
        json={"location_code": code, "sku": sku, "quantity": units, "expected_at": at.isoformat()},
    )
    assert r.status_code == 201, r.text
    inbound_id: str = r.json()["id"]
    return inbound_id


async def wait_for(
    client: httpx.AsyncClient,
    code: str,
    sku: str,
    quantity: int,
    *,
    ordered_at: datetime,
    priority: int = 0,
) -> dict[str, Any]:
    r = await client.post(
        "/v1/reservations",
        json={
            "order_id": str(uuid.uuid4()),
            "lines": [{"sku": sku, "quantity": quantity, "location_code": code}],
            "allow_backorder": True,
            "ordered_at": ordered_at.isoformat(),
            "priority": priority,
        },
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def line_of(client: httpx.AsyncClient, res: dict[str, Any]) -> tuple[int, int]:
    """(held, backordered) of the reservation's single line, as stored now."""
    (line,) = (await client.get(f"/v1/reservations/{res['id']}")).json()["lines"]
    return line["held"], line["backordered"]


async def receive(client: httpx.AsyncClient, inbound_id: str, quantity: int) -> None:
    r = await client.post(f"/v1/inbound/{inbound_id}/receive", json={"quantity": quantity})
    assert r.status_code == 200, r.text


class TestBackorderFairness:
    async def test_the_two_oldest_orders_get_the_two_units_that_arrive(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku, inbound_id = await shelf(client, on_hand=0, incoming=3)
        # They reach inventory newest order first: arrival must not decide.
        newest = await wait_for(client, code, sku, 1, ordered_at=T0 + timedelta(minutes=30))
        oldest = await wait_for(client, code, sku, 1, ordered_at=T0)
        middle = await wait_for(client, code, sku, 1, ordered_at=T0 + timedelta(minutes=10))
        for res in (newest, oldest, middle):
            (line,) = res["lines"]
            assert (line["held"], line["backordered"]) == (0, 1)
            assert datetime.fromisoformat(line["expected_at"]) == EXPECTED_AT

        await receive(client, inbound_id, 2)

        assert [await line_of(client, r) for r in (oldest, middle, newest)] == [
            (1, 0),
            (1, 0),
            (0, 1),
        ]
        for res in (oldest, middle):
            (allocated,) = await published(container, res["order_id"], "backorder_allocated")
            assert allocated["data"]["lines"] == [
                {"sku": sku, "location_code": code, "quantity": 1}
            ]
            assert allocated["data"]["still_backordered"] == 0
        assert await published(container, newest["order_id"], "backorder_allocated") == []
        level = (await client.get(f"/v1/stock/{sku}")).json()
        assert (level["on_hand"], level["reserved"], level["available"]) == (2, 2, 0)
        atp = (await client.get("/v1/availability", params={"skus": sku})).json()["items"][0]
        assert (atp["backordered"], atp["incoming"][0]["quantity"]) == (1, 1)

    async def test_priority_beats_order_time(self, client: httpx.AsyncClient) -> None:
        code, sku, inbound_id = await shelf(client, on_hand=0, incoming=2)
        early = await wait_for(client, code, sku, 1, ordered_at=T0)
        urgent = await wait_for(
            client, code, sku, 1, ordered_at=T0 + timedelta(hours=1), priority=5
        )
        await receive(client, inbound_id, 1)
        assert [await line_of(client, r) for r in (urgent, early)] == [(1, 0), (0, 1)]

    async def test_a_line_at_the_front_is_filled_before_anyone_behind_it(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku, inbound_id = await shelf(client, on_hand=0, incoming=4)
        big = await wait_for(client, code, sku, 3, ordered_at=T0)
        small = await wait_for(client, code, sku, 1, ordered_at=T0 + timedelta(minutes=1))
        await receive(client, inbound_id, 2)
        assert [await line_of(client, r) for r in (big, small)] == [(2, 1), (0, 1)]
        (allocated,) = await published(container, big["order_id"], "backorder_allocated")
        assert allocated["data"]["still_backordered"] == 1

    async def test_a_backorder_holds_what_is_on_hand_and_waits_for_the_rest(
        self, client: httpx.AsyncClient
    ) -> None:
        code, sku, inbound_id = await shelf(client, on_hand=2, incoming=5)
        res = await wait_for(client, code, sku, 4, ordered_at=T0)
        assert (res["status"], await line_of(client, res)) == ("confirmed", (2, 2))
        await receive(client, inbound_id, 5)
        assert await line_of(client, res) == (4, 0)
        level = (await client.get(f"/v1/stock/{sku}")).json()
        assert (level["on_hand"], level["reserved"], level["available"]) == (7, 4, 3)

    async def test_without_incoming_stock_to_promise_a_backorder_is_rejected(
        self, client: httpx.AsyncClient
    ) -> None:
        code, sku, _ = await shelf(client, on_hand=1, incoming=2)
        first = await wait_for(client, code, sku, 3, ordered_at=T0)
        assert await line_of(client, first) == (1, 2), "both incoming units are promised"
        r = await client.post(
            "/v1/reservations",
            json={
                "order_id": str(uuid.uuid4()),
                "lines": [{"sku": sku, "quantity": 1, "location_code": code}],
                "allow_backorder": True,
            },
        )
        assert r.status_code == 409, r.text
        assert r.json()["extensions"]["lines"][0]["available"] == 0


class TestFreedStockGoesToWaitingOrdersFirst:
    async def test_released_units_go_to_the_waiting_order_not_to_the_next_buyer(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku, _ = await shelf(client, on_hand=2, incoming=5)
        holder = await wait_for(client, code, sku, 2, ordered_at=T0)
        waiting = await wait_for(client, code, sku, 1, ordered_at=T0 + timedelta(minutes=5))
        assert await line_of(client, waiting) == (0, 1)
        release = {"lines": [{"sku": sku, "quantity": 1}]}
        r = await client.post(f"/v1/reservations/{holder['id']}/release", json=release)
        assert r.status_code == 200, r.text
        assert await line_of(client, waiting) == (1, 0)
        assert len(await published(container, waiting["order_id"], "backorder_allocated")) == 1
        buyer = await client.post(
            "/v1/reservations",
            json={
                "order_id": str(uuid.uuid4()),
                "lines": [{"sku": sku, "quantity": 1, "location_code": code}],
            },
        )
        assert buyer.status_code == 409, "the freed unit is no longer available"

    async def test_a_cancelled_order_hands_its_units_to_the_waiting_order(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku, _ = await shelf(client, on_hand=3, incoming=5)
        cancelled = await wait_for(client, code, sku, 3, ordered_at=T0)
        waiting = await wait_for(client, code, sku, 2, ordered_at=T0 + timedelta(minutes=5))
        await container.bus.handle(
            ReleaseOrder(order_id=uuid.UUID(cancelled["order_id"]), picks=None)
        )
        assert await line_of(client, cancelled) == (0, 0)
        assert await line_of(client, waiting) == (2, 0)
        level = (await client.get(f"/v1/stock/{sku}")).json()
        assert (level["reserved"], level["available"]) == (2, 1)
        (released,) = await published(container, cancelled["order_id"], "reservation_released")
        assert released["data"]["reason"] == "cancelled"

    async def test_units_found_on_the_shelf_go_to_the_waiting_order(
        self, client: httpx.AsyncClient
    ) -> None:
        code, sku, _ = await shelf(client, on_hand=0, incoming=5)
        waiting = await wait_for(client, code, sku, 2, ordered_at=T0)
        body = {"location_code": code, "sku": sku, "delta": 3, "reason": "found"}
        assert (await client.post("/v1/stock/adjustments", json=body)).status_code == 201
        assert await line_of(client, waiting) == (2, 0)
        assert (await client.get(f"/v1/stock/{sku}")).json()["available"] == 1


class TestCancelledDelivery:
    """A delivery the queue counted on is cancelled: the queue is promised again, front
    first, from the deliveries still expected; what none covers lapses."""

    async def test_the_queue_is_promised_from_the_later_delivery_and_the_rest_lapses(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku, soon = await shelf(client, on_hand=0, incoming=3)
        later_at = EXPECTED_AT + timedelta(days=14)
        await expect(client, code, sku, 2, at=later_at)
        first = await wait_for(client, code, sku, 2, ordered_at=T0)
        second = await wait_for(client, code, sku, 2, ordered_at=T0 + timedelta(minutes=5))
        # 3 + 2 expected: the first is promised from the soon delivery, the second waits
        # for one unit of the later one.
        assert [
            datetime.fromisoformat(res["lines"][0]["expected_at"]) for res in (first, second)
        ] == [
            EXPECTED_AT,
            later_at,
        ]

        r = await client.post(f"/v1/inbound/{soon}/cancel")
        assert r.status_code == 200, r.text

        # Only the later 2 units are expected now: the first order gets them, the second
        # order's units lapse (no longer reserved, the order routes them again).
        assert await line_of(client, first) == (0, 2)
        assert await line_of(client, second) == (0, 0)
        (moved,) = await published(container, first["order_id"], "backorder_repromised")
        assert moved["data"]["lines"] == [
            {
                "sku": sku,
                "location_code": code,
                "line_id": None,
                "backordered": 2,
                "expected_at": later_at.isoformat().replace("+00:00", "Z"),
                "previous_expected_at": EXPECTED_AT.isoformat().replace("+00:00", "Z"),
                "lapsed": 0,
            }
        ]
        assert (moved["data"]["reason"], moved["data"]["inbound_id"]) == ("inbound_cancelled", soon)
        (lapsed,) = await published(container, second["order_id"], "backorder_repromised")
        assert lapsed["data"]["lines"][0]["lapsed"] == 2
        assert lapsed["data"]["lines"][0]["expected_at"] is None
        assert lapsed["data"]["still_backordered"] == 0
        # A new order can still backorder nothing: the later delivery is promised in full.
        r = await client.post(
            "/v1/reservations",
            json={
                "order_id": str(uuid.uuid4()),
                "lines": [{"sku": sku, "quantity": 1, "location_code": code}],
                "allow_backorder": True,
            },
        )
        assert r.status_code == 409, r.text

    async def test_a_cancel_that_leaves_every_promise_standing_says_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku, _soon = await shelf(client, on_hand=0, incoming=5)
        spare = await expect(client, code, sku, 5, at=EXPECTED_AT + timedelta(days=30))
        waiting = await wait_for(client, code, sku, 2, ordered_at=T0)

        assert (await client.post(f"/v1/inbound/{spare}/cancel")).status_code == 200

        assert await line_of(client, waiting) == (0, 2)
        assert await published(container, waiting["order_id"], "backorder_repromised") == []


class TestRescheduledDelivery:
    async def test_a_later_date_repromises_the_waiting_lines_from_it(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku, inbound_id = await shelf(client, on_hand=0, incoming=3)
        waiting = await wait_for(client, code, sku, 2, ordered_at=T0)
        later = EXPECTED_AT + timedelta(days=7)

        r = await client.post(
            f"/v1/inbound/{inbound_id}/reschedule", json={"expected_at": later.isoformat()}
        )
        assert r.status_code == 200, r.text
        assert datetime.fromisoformat(r.json()["expected_at"]) == later
        again = await client.post(
            f"/v1/inbound/{inbound_id}/reschedule", json={"expected_at": later.isoformat()}
        )
        assert again.status_code == 200, again.text

        (line,) = (await client.get(f"/v1/reservations/{waiting['id']}")).json()["lines"]
        assert (line["backordered"], datetime.fromisoformat(line["expected_at"])) == (2, later)
        (moved,) = await published(container, waiting["order_id"], "backorder_repromised")
        assert moved["data"]["reason"] == "inbound_rescheduled"
        assert moved["data"]["lines"][0]["lapsed"] == 0
        incoming = await published(container, sku, "incoming_changed")
        assert incoming[-1]["data"]["reason"] == "inbound_rescheduled"

    async def test_a_delivery_received_in_full_cannot_be_rescheduled(
        self, client: httpx.AsyncClient
    ) -> None:
        _, _, inbound_id = await shelf(client, on_hand=0, incoming=3)
        await receive(client, inbound_id, 3)

        r = await client.post(
            f"/v1/inbound/{inbound_id}/reschedule", json={"expected_at": EXPECTED_AT.isoformat()}
        )

        assert r.status_code == 409, r.text
        assert r.json()["code"] == "inbound_closed"
