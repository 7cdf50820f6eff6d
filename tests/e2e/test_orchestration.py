"""The order saga end to end, through all four services and the real broker: routing with
its explanation, fulfilment actions, payments, and every compensation. Each test checks the
outcome in every service's API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from libs.contracts import orchestration as orch
from libs.contracts.returns import RefundLine, RefundRequested
from tests.e2e.conftest import Stack
from tests.e2e.flows import events_about
from tests.e2e.orchestration_flows import (
    BERLIN,
    HAMBURG,
    MUNICH,
    POTSDAM,
    World,
    publish_as,
)
from tests.support.api import Api
from tests.support.polling import eventually


class TestShipToHome:
    async def test_the_nearest_warehouse_ships_and_the_order_completes(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp, shade = w.sku("LAMP"), w.sku("SHADE")
        near = await w.location("WH-BER", BERLIN, stock={lamp: 5, shade: 5})
        far = await w.location("WH-MUC", MUNICH, stock={lamp: 5, shade: 5})
        order = await w.place([(lamp, 2), (shade, 1)])

        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == near
        (decision,) = await w.decisions(order["id"])
        assert decision["outcome"] == "routed"
        assert decision["explanation"].startswith(f"{near}: ")
        assert f"{far} scored lower" in decision["explanation"]
        verdicts = {c["location_code"]: c for c in decision["candidates"]}
        assert verdicts[near]["total"] > verdicts[far]["total"]
        assert {x["name"] for x in verdicts[near]["components"]} >= {"distance", "priority"}
        assert await w.stock_at(near, lamp) == (5, 2)
        await w.order_reaches(order["id"], "confirmed")

        shipped = await w.ship_all_the_way(f["id"])
        assert shipped["status"] == "delivered" and shipped["shipment"]["tracking_number"]
        label = await http.get(f"{urls['orchestration']}/v1/fulfillments/{f['id']}/label")
        assert label.status_code == 200 and label.content.startswith(b"%PDF")

        saga = await w.saga_reaches(order["id"], "completed")
        assert Decimal(saga["payment"]["captured"]) == Decimal(order["totals"]["grand_total"])
        assert [(k, s) for k, s, _ in await w.payments(order["id"])] == [
            ("authorize", "succeeded"),
            ("capture", "succeeded"),
        ]
        await w.stock_settles(near, lamp, (3, 0))
        await w.stock_settles(near, shade, (4, 0))
        assert await w.stock_at(far, lamp) == (5, 0)
        final = await w.order_reaches(order["id"], "completed")
        assert [ln["quantities"]["delivered"] for ln in final["lines"]] == [2, 1]

    async def test_out_of_turn_actions_are_409_with_what_is_allowed(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        await w.location("WH-BER", BERLIN, stock={lamp: 5})
        order = await w.place([(lamp, 1)])
        (f,) = await w.open_fulfillments(order["id"], 1)
        r = await w.act(f["id"], "ship")
        assert r.status_code == 409
        assert r.parsed.to_dict()["code"] == "action_not_allowed"
        assert r.parsed.to_dict()["extensions"]["allowed_actions"] == ["accept", "reject"]
        assert (await w.act(f["id"], "accept")).status_code == 200
        again = await w.act(f["id"], "accept")  # repeated: harmless
        assert again.status_code == 200 and again.parsed.to_dict()["status"] == "accepted"
        missing = await w.act("019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b", "accept")
        assert missing.status_code == 404


class TestRequestedDeliveryDate:
    async def test_the_order_goes_where_it_arrives_by_the_date_and_the_decision_says_so(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        # Berlin is nearest the customer, so it wins without a date, but it packs for ten
        # business days (two weeks and more). Munich dispatches by the next business day and
        # a standard parcel arrives within six days of today, whatever day the test runs.
        slow = await w.location("WH-BER", BERLIN, processing_days=10, stock={lamp: 5})
        quick = await w.location("WH-MUC", MUNICH, stock={lamp: 5})
        requested = (datetime.now(UTC).date() + timedelta(days=8)).isoformat()

        dated = await w.place([(lamp, 1)], requested_delivery_date=requested)
        undated = await w.place([(lamp, 1)])

        assert dated["requested_delivery_date"] == requested
        (f,) = await w.open_fulfillments(dated["id"], 1)
        assert f["location_code"] == quick
        (decision,) = await w.decisions(dated["id"])
        assert decision["outcome"] == "routed"
        assert decision["meets_requested_date"] is True
        assert decision["explanation"].startswith(
            f"Meets the requested delivery date {requested}: arrives "
        )
        assert f"{slow} rejected: arrives " in decision["explanation"]
        filters = filters_of(decision)
        assert filters[slow]["delivery_date"]["passed"] is False
        assert f"after the requested {requested}" in filters[slow]["delivery_date"]["reason"]
        assert filters[quick]["delivery_date"]["passed"] is True
        assert await w.stock_at(quick, lamp) == (5, 1)
        # The same order without a date goes to the nearer location, as it always did.
        (g,) = await w.open_fulfillments(undated["id"], 1)
        assert g["location_code"] == slow
        (plain,) = await w.decisions(undated["id"])
        assert plain["meets_requested_date"] is None
        assert all("delivery_date" not in f for f in filters_of(plain).values())


def filters_of(decision: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        c["location_code"]: {v["name"]: v for v in c["filters"]} for c in decision["candidates"]
    }


class TestSplit:
    async def test_two_warehouses_each_ship_their_part(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp, shade = w.sku("LAMP"), w.sku("SHADE")
        a = await w.location("WH-HAM", HAMBURG, stock={lamp: 4})
        b = await w.location("WH-MUC", MUNICH, stock={shade: 4})
        order = await w.place([(lamp, 2), (shade, 3)])

        fs = await w.open_fulfillments(order["id"], 2)
        assert sorted(f["location_code"] for f in fs) == sorted([a, b])
        (decision,) = await w.decisions(order["id"])
        assert len(decision["parts"]) == 2
        assert decision["explanation"].startswith("Split into 2 parts")
        for f in fs:
            await w.ship_all_the_way(f["id"])
        await w.saga_reaches(order["id"], "completed")
        await w.stock_settles(a, lamp, (2, 0))
        await w.stock_settles(b, shade, (1, 0))
        await w.order_reaches(order["id"], "completed")


class TestClickAndCollect:
    async def test_the_chosen_store_hands_the_order_over(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        await w.location("WH-BER", BERLIN, stock={lamp: 9})
        store = await w.location(
            "STORE-POT", POTSDAM, type="store", capabilities=("pickup",), stock={lamp: 2}
        )
        order = await w.place(
            [(lamp, 2)],
            delivery={
                "method": "pickup",
                "service_level": "standard",
                "pickup_location_code": store,
            },
        )
        (f,) = await w.open_fulfillments(order["id"], 1)
        assert (f["location_code"], f["method"]) == (store, "pickup")
        (decision,) = await w.decisions(order["id"])
        assert decision["explanation"].startswith(store)
        for action in ("accept", "pick", "ready_for_pickup", "collect"):
            r = await w.act(f["id"], action)
            assert r.status_code == 200, r.content
        await w.saga_reaches(order["id"], "completed")
        await w.stock_settles(store, lamp, (0, 0))
        final = await w.order_reaches(order["id"], "completed")
        assert final["lines"][0]["quantities"]["delivered"] == 2


class TestRerouting:
    async def test_a_store_that_rejects_is_replaced_and_never_chosen_again(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        store = await w.location(
            "STORE-BER",
            BERLIN,
            type="store",
            capabilities=("ship_from_store",),
            stock={lamp: 3},
        )
        warehouse = await w.location("WH-HAM", HAMBURG, stock={lamp: 3})
        order = await w.place([(lamp, 2)])
        (first,) = await w.open_fulfillments(order["id"], 1)
        assert first["location_code"] == store
        r = await w.act(first["id"], "reject", {"reason": "shelf empty after a break-in"})
        assert r.status_code == 200 and r.parsed.to_dict()["status"] == "rejected"

        (second,) = await w.open_fulfillments(order["id"], 1)
        assert second["location_code"] == warehouse
        decisions = await w.decisions(order["id"])
        assert [d["round"] for d in decisions] == [1, 2]
        assert store in decisions[1]["request"]["excluded"]
        assert f"{store} rejected" in decisions[1]["explanation"]
        await w.stock_settles(store, lamp, (3, 0))  # released where it was rejected
        await w.ship_all_the_way(second["id"])
        await w.saga_reaches(order["id"], "completed")
        await w.stock_settles(warehouse, lamp, (1, 0))
        await w.order_reaches(order["id"], "completed")

    async def test_a_short_pick_sends_the_remainder_elsewhere(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        near = await w.location("WH-BER", BERLIN, stock={lamp: 3})
        far = await w.location("WH-MUC", MUNICH, stock={lamp: 3})
        order = await w.place([(lamp, 3)])
        line_id = order["lines"][0]["id"]
        (first,) = await w.open_fulfillments(order["id"], 1)
        assert first["location_code"] == near
        assert (await w.act(first["id"], "accept")).status_code == 200
        picked = await w.act(first["id"], "pick", {"lines": [{"line_id": line_id, "quantity": 1}]})
        assert picked.status_code == 200, picked.content
        assert picked.parsed.to_dict()["lines"][0]["short"] == 2

        (second,) = await w.open_fulfillments(order["id"], 1)
        assert second["location_code"] == far
        assert second["lines"][0]["quantity"] == 2
        for action in ("pack", "ship", "deliver"):
            assert (await w.act(first["id"], action)).status_code == 200
        await w.ship_all_the_way(second["id"])
        await w.saga_reaches(order["id"], "completed")
        await w.stock_settles(near, lamp, (2, 0))
        await w.stock_settles(far, lamp, (1, 0))
        final = await w.order_reaches(order["id"], "completed")
        assert final["lines"][0]["quantities"]["delivered"] == 3


class TestCompensation:
    async def test_a_declined_payment_releases_the_reservation(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        near = await w.location("WH-BER", BERLIN, stock={lamp: 4})
        order = await w.place([(lamp, 2)], token="tok_decline")
        saga = await w.saga_reaches(order["id"], "on_hold")
        assert "payment declined" in saga["hold_reason"]
        assert [s["name"] for s in saga["steps"]].count("payment_declined") == 1
        await w.stock_settles(near, lamp, (4, 0))
        assert await w.fulfillments(order["id"]) == []
        assert await w.payments(order["id"]) == [("authorize", "failed", "24.90")]
        await w.order_reaches(order["id"], "on_hold")
        (decision,) = await w.decisions(order["id"])
        assert decision["explanation"].startswith(near)

    async def test_a_cancel_after_routing_releases_stock_and_voids_the_money(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        near = await w.location("WH-BER", BERLIN, stock={lamp: 4})
        order = await w.place([(lamp, 2)])
        (f,) = await w.open_fulfillments(order["id"], 1)
        assert (await w.act(f["id"], "accept")).status_code == 200
        r = await http.post(
            f"{urls['order_capture']}/v1/orders/{order['id']}/cancel",
            json={"reason": "customer changed their mind"},
        )
        assert r.status_code == 200, r.text

        saga = await w.saga_reaches(order["id"], "cancelled")
        assert Decimal(saga["payment"]["voided"]) == Decimal("24.90")
        await w.stock_settles(near, lamp, (4, 0))
        (cancelled,) = await w.fulfillments(order["id"])
        assert cancelled["status"] == "cancelled"
        assert [(k, s) for k, s, _ in await w.payments(order["id"])] == [
            ("authorize", "succeeded"),
            ("void", "succeeded"),
        ]
        await w.order_reaches(order["id"], "cancelled")
        (decision,) = await w.decisions(order["id"])
        assert decision["explanation"].startswith(near)


class TestAddressChange:
    async def test_a_new_address_before_picking_sends_the_order_from_nearer_it(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        berlin = await w.location("WH-BER", BERLIN, stock={lamp: 5})
        munich = await w.location("WH-MUC", MUNICH, stock={lamp: 5})
        order = await w.place([(lamp, 2)])
        (first,) = await w.open_fulfillments(order["id"], 1)
        assert first["location_code"] == berlin
        assert (await w.act(first["id"], "accept")).status_code == 200

        # The ETag is read once order-capture has heard of the allocation: that report is
        # itself a change of the order, and a version read before it would be stale.
        await eventually(
            lambda: w.order(order["id"]),
            until=lambda o: o["lines"][0]["quantities"]["allocated"] == 2,
            what="order-capture knowing the order allocated",
        )
        url = f"{urls['order_capture']}/v1/orders/{order['id']}"
        etag = (await http.get(url)).headers["ETag"]
        moved = await http.patch(
            url,
            json={
                "shipping_address": {
                    "name": "Grace Hopper",
                    "line1": "Marienplatz 1",
                    "city": "München",
                    "postal_code": "80331",
                    "country": "DE",
                    "latitude": MUNICH[0],
                    "longitude": MUNICH[1],
                }
            },
            headers={"If-Match": etag},
        )
        assert moved.status_code == 200, moved.text

        (second,) = await w.open_fulfillments(order["id"], 1)
        assert second["location_code"] == munich
        withdrawn = next(f for f in await w.fulfillments(order["id"]) if f["id"] == first["id"])
        assert withdrawn["status"] == "cancelled"
        await w.stock_settles(berlin, lamp, (5, 0))
        await w.stock_settles(munich, lamp, (5, 2))
        saga = await w.saga(order["id"])
        assert saga["excluded_locations"] == []  # a new plan, not a rejection
        assert [d["round"] for d in await w.decisions(order["id"])] == [1, 2]

        shipped = await w.ship_all_the_way(second["id"])
        assert shipped["status"] == "delivered"
        saga = await w.saga_reaches(order["id"], "completed")
        assert Decimal(saga["payment"]["captured"]) == Decimal(order["totals"]["grand_total"])
        await w.stock_settles(munich, lamp, (3, 0))


class TestRefunds:
    async def test_returns_asks_for_refunds_and_each_is_paid_once_up_to_what_was_captured(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        await w.location("WH-BER", BERLIN, stock={lamp: 5})
        order = await w.place([(lamp, 2)])  # 2 x 10.00 + 4.90 shipping
        (f,) = await w.open_fulfillments(order["id"], 1)
        await w.ship_all_the_way(f["id"])
        await w.saga_reaches(order["id"], "completed")
        line_id = order["lines"][0]["id"]

        def refund(refund_id: str, amount: str) -> RefundRequested:
            return RefundRequested(
                order_id=order["id"],
                return_id=f"RET-{refund_id}",
                refund_id=refund_id,
                amount=Decimal(amount),
                currency="EUR",
                lines=[RefundLine(line_id=line_id, quantity=1)],
                requested_at=datetime.now(UTC),
            )

        paid, too_much = f"R-{uuid.uuid4().hex[:8]}", f"R-{uuid.uuid4().hex[:8]}"
        # The first asked twice (a redelivery), then one for more than is left to refund.
        await publish_as("returns", refund(paid, "10.00"), refund(paid, "10.00"))
        await publish_as("returns", refund(too_much, "20.00"))

        async def answers() -> list[str]:
            events = await events_about(orch.PaymentRefunded.topic, {order["id"]})
            return sorted(
                e.type for e in events if e.type.startswith("oms.orchestration.payment_refund")
            )

        found = await eventually(
            answers, until=lambda a: len(a) >= 2, timeout=30, what="both refunds answered"
        )
        assert found == [
            "oms.orchestration.payment_refund_failed",
            "oms.orchestration.payment_refunded",
        ]
        saga = await w.saga(order["id"])
        assert Decimal(saga["payment"]["refunded"]) == Decimal("10.00")
        assert await w.payments(order["id"]) == [
            ("authorize", "succeeded", "24.90"),
            ("capture", "succeeded", "24.90"),
            ("refund", "succeeded", "10.00"),
        ]
        final = await eventually(
            lambda: w.order(order["id"]),
            until=lambda o: o["lines"][0]["quantities"]["refunded"] == 1,
            timeout=20,
            what="the refund on the order",
        )
        assert final["lines"][0]["quantities"]["refunded"] == 1
        assert final["totals"]["refunded"] == "10.00"  # the redelivered refund counted once


class TestBackorders:
    async def test_a_channel_that_backorders_waits_for_incoming_stock_then_ships(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        code = await w.location("WH-BER", BERLIN, stock={lamp: 1})
        inbound = await w.inbound(code, lamp, 5, in_days=2)
        order = await w.place_backordered([(lamp, 3)])

        (decision,) = await w.decisions(order["id"])
        assert decision["outcome"] == "backordered"
        assert await w.fulfillments(order["id"]) == []
        await w.stock_settles(code, lamp, (1, 1))  # the one on hand is held; 2 wait
        await w.order_reaches(order["id"], "backordered")

        received = await http.post(f"{urls['inventory']}/v1/inbound/{inbound}/receive", json={})
        assert received.status_code == 200, received.text

        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == code
        assert sum(ln["quantity"] for ln in f["lines"]) == 3
        await w.stock_settles(code, lamp, (6, 3))
        steps = [s["name"] for s in (await w.saga(order["id"]))["steps"]]
        assert steps.index("backorder_allocated") < steps.index("fulfillment_created")


class TestDelays:
    async def test_a_cancelled_delivery_repromises_the_backorder_and_the_order_is_delayed(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        code = await w.location("WH-BER", BERLIN)
        soon = await w.inbound(code, lamp, 2, in_days=2)
        later = await w.inbound(code, lamp, 3, in_days=20)
        order = await w.place_backordered([(lamp, 2)])

        cancelled = await http.post(f"{urls['inventory']}/v1/inbound/{soon}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        (delayed,) = await w.delays(order["id"])
        assert delayed["reason_code"] == "inbound_cancelled"
        previous = datetime.fromisoformat(delayed["previous_estimate"])
        estimate = datetime.fromisoformat(delayed["new_estimate"])
        assert estimate - previous >= timedelta(days=17)  # the delivery 18 days later
        assert [(ln["sku"], ln["quantity"]) for ln in delayed["lines"]] == [(lamp, 2)]
        saga = await w.saga(order["id"])
        assert saga["state"] == "backordered"  # promised from the later delivery
        assert "backorder_repromised" in [s["name"] for s in saga["steps"]]

        async def delays_on_the_timeline() -> list[dict[str, Any]]:
            url = f"{urls['order_capture']}/v1/orders/{order['id']}/timeline"
            items: list[dict[str, Any]] = (await http.get(url)).json()["items"]
            return [e for e in items if e["kind"] == "delayed"]

        (entry,) = await eventually(
            delays_on_the_timeline, until=bool, what="the delay on the order's timeline"
        )
        assert entry["details"]["new_estimate"] == estimate.isoformat()

        received = await http.post(f"{urls['inventory']}/v1/inbound/{later}/receive", json={})
        assert received.status_code == 200, received.text
        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == code

    async def test_a_delivery_that_comes_later_delays_the_order_waiting_for_it(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        code = await w.location("WH-BER", BERLIN)
        inbound = await w.inbound(code, lamp, 2, in_days=2)
        order = await w.place_backordered([(lamp, 1)])

        later = datetime.now(UTC) + timedelta(days=9)
        moved = await http.post(
            f"{urls['inventory']}/v1/inbound/{inbound}/reschedule",
            json={"expected_at": later.isoformat()},
        )
        assert moved.status_code == 200, moved.text

        (delayed,) = await w.delays(order["id"])
        assert delayed["reason_code"] == "inbound_rescheduled"
        assert datetime.fromisoformat(delayed["new_estimate"]) > later

    async def test_units_no_delivery_covers_any_more_are_routed_again(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        waiting_at = await w.location("WH-BER", BERLIN)
        only = await w.inbound(waiting_at, lamp, 2, in_days=3)
        order = await w.place_backordered([(lamp, 2)])
        # Stock turns up elsewhere after the order was backordered.
        elsewhere = await w.location("WH-HAM", HAMBURG, stock={lamp: 2})

        cancelled = await http.post(f"{urls['inventory']}/v1/inbound/{only}/cancel")
        assert cancelled.status_code == 200, cancelled.text

        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == elsewhere
        (delayed,) = await w.delays(order["id"])
        assert (delayed["reason_code"], delayed["new_estimate"]) == ("backorder_lapsed", None)
        outcomes = [d["outcome"] for d in await w.decisions(order["id"])]
        assert (outcomes[0], outcomes[-1]) == ("backordered", "routed")
        await w.stock_settles(waiting_at, lamp, (0, 0))


class TestWaitingRoom:
    async def test_an_order_for_a_brand_new_location_placed_right_after_its_stock_routes_there(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        code = await w.location("WH-NEW", BERLIN)
        stocked = await http.put(
            f"{urls['inventory']}/v1/locations/{code}/stock/{lamp}", json={"on_hand": 3}
        )
        assert stocked.status_code == 200, stocked.text
        # At once: orchestration's view of the new stock is an event's trip behind.
        order = await w.place([(lamp, 1)])

        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == code
        await w.order_reaches(order["id"], "confirmed")

    async def test_an_order_no_location_can_serve_waits_then_routes_itself_when_stock_comes(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        order = await w.place([(lamp, 2)])
        # Past its routing grace (3 s in the tests) it waits: not held, nobody has to act.
        saga = await w.saga_reaches(order["id"], "waiting_for_stock")
        assert saga["hold"] is None
        assert saga["deadline_at"] is not None
        assert order["id"] not in {h["order_id"] for h in await w.holds()}
        assert (await w.order(order["id"]))["status"] == "pending"

        code = await w.location("WH-LATE", BERLIN, stock={lamp: 5})

        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == code
        await w.order_reaches(order["id"], "confirmed")
        decisions = await w.decisions(order["id"])
        assert [d["outcome"] for d in decisions] == ["unroutable", "routed"]

    async def test_an_expedited_waiting_order_is_reserved_first_in_the_backorder_queue(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        order = await w.place([(lamp, 1)])
        await w.saga_reaches(order["id"], "waiting_for_stock")
        expedited = await http.post(
            f"{urls['order_capture']}/v1/orders/{order['id']}/priority",
            json={"priority": "high", "reason": "VIP customer"},
        )
        assert expedited.status_code == 200, expedited.text
        assert expedited.json()["priority"] == "high"

        # Orchestration learns it from oms.order.priority_changed; once stock comes, the
        # reservation it asks for carries the high order's place in the backorder queue.
        await eventually(
            lambda: w.saga(order["id"]),
            until=lambda saga: saga["priority"] == "high",
            timeout=20,
            what="orchestration to learn the order's priority",
        )
        await w.location("WH-PRIO", BERLIN, stock={lamp: 5})
        await w.open_fulfillments(order["id"], 1)
        reservations = await http.get(
            f"{urls['inventory']}/v1/reservations", params={"order_id": order["id"]}
        )
        assert reservations.status_code == 200, reservations.text
        assert [r["priority"] for r in reservations.json()["items"]] == [50]


class TestPaymentRecovery:
    async def test_a_declined_order_resumes_with_a_new_payment_method_and_ships(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        code = await w.location("WH-BER", BERLIN, stock={lamp: 4})
        order = await w.place([(lamp, 2)], token="tok_decline")
        held = await w.saga_reaches(order["id"], "on_hold")
        assert held["hold"]["reason"] == "payment_declined"
        assert held["deadline_at"] is not None  # cancelled unless a new method comes in time
        await w.order_reaches(order["id"], "on_hold")
        refused = await http.post(
            f"{urls['orchestration']}/v1/orders/{order['id']}/payment", json={"token": ""}
        )
        assert refused.status_code == 422

        resumed = await w.new_payment_method(order["id"], "tok_test_4242")
        assert resumed["hold"] is None

        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == code
        await w.ship_all_the_way(f["id"])
        await w.saga_reaches(order["id"], "completed")
        await w.order_reaches(order["id"], "completed")
        assert [(kind, status) for kind, status, _ in await w.payments(order["id"])] == [
            ("authorize", "failed"),
            ("authorize", "succeeded"),
            ("capture", "succeeded"),
        ]
        again = await http.post(
            f"{urls['orchestration']}/v1/orders/{order['id']}/payment",
            json={"token": "tok_test_4242"},
        )
        assert again.status_code == 409
        assert again.json()["code"] == "payment_not_needed"

    async def test_an_expired_payment_recovery_cancels_the_order_at_order_capture(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        await w.location("WH-BER", BERLIN, stock={lamp: 4})
        order = await w.place([(lamp, 1)], token="tok_decline")
        held = await w.saga_reaches(order["id"], "on_hold")
        # What orchestration announces when the hold's deadline passes (72 h by default).
        await publish_as(
            "orchestration",
            orch.PaymentRecoveryExpired(
                order_id=order["id"],
                hold_id=held["hold"]["hold_id"],
                reason="no new payment method within 72 h",
                expired_at=datetime.now(UTC),
            ),
        )

        cancelled = await w.order_reaches(order["id"], "cancelled")
        assert cancelled["lines"][0]["quantities"]["cancelled"] == 1


class TestManualReview:
    async def test_a_rule_holds_the_order_before_anything_is_reserved_and_approval_ships_it(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        code = await w.location("WH-BER", BERLIN, stock={lamp: 4})
        async with w.reviewed({"max_risk_score": 80}):
            order = await w.place([(lamp, 2)], email="risky.buyer@example.com")
            held = await w.saga_reaches(order["id"], "on_hold")
            calm = await w.place([(lamp, 1)])  # an ordinary customer passes the same rules
        assert held["hold"]["reason"] == "review"
        assert held["hold"]["detail"] == "risk score 95 above 80"
        assert await w.decisions(order["id"]) == []  # nothing routed, reserved or charged
        assert await w.payments(order["id"]) == []
        await w.order_reaches(order["id"], "on_hold")
        await w.open_fulfillments(calm["id"], 1)

        r = await http.post(
            f"{urls['orchestration']}/v1/orders/{order['id']}/approve",
            json={"note": "called the customer"},
        )
        assert r.status_code == 200, r.text

        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == code
        await w.order_reaches(order["id"], "confirmed")
        timeline = await http.get(f"{urls['order_capture']}/v1/orders/{order['id']}/timeline")
        reasons = " ".join(str(e) for e in timeline.json()["items"])
        assert "risk score 95 above 80" in reasons  # the decision's reasons, on the timeline
        assert "approved in review: called the customer" in reasons
        again = await http.post(f"{urls['orchestration']}/v1/orders/{order['id']}/approve")
        assert again.status_code == 409
        assert again.json()["code"] == "not_in_review"

    async def test_rejecting_an_order_in_review_cancels_it_with_the_reason(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        code = await w.location("WH-BER", BERLIN, stock={lamp: 4})
        async with w.reviewed({"max_order_value": "15.00"}):
            order = await w.place([(lamp, 2)])  # 2 x 10.00 and shipping: above 15
            held = await w.saga_reaches(order["id"], "on_hold")
        assert held["hold"]["detail"].startswith("order value")

        r = await http.post(
            f"{urls['orchestration']}/v1/orders/{order['id']}/reject",
            json={"reason": "card holder unreachable"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "cancelled"

        cancelled = await w.order_reaches(order["id"], "cancelled")
        timeline = await http.get(f"{urls['order_capture']}/v1/orders/{order['id']}/timeline")
        assert "rejected in review: card holder unreachable" in str(timeline.json()["items"])
        assert cancelled["status"] == "cancelled"
        assert await w.stock_at(code, lamp) == (4, 0)

    async def test_a_new_customer_s_first_order_above_the_value_is_reviewed_not_the_second(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        await w.location("WH-BER", BERLIN, stock={lamp: 4})
        email = f"new.{uuid.uuid4().hex[:12]}@example.com"
        async with w.reviewed({"new_customer_max_value": "15.00"}):
            first = await w.place([(lamp, 2)], email=email)  # 2 x 10.00 and shipping
            held = await w.saga_reaches(first["id"], "on_hold")
            second = await w.place([(lamp, 2)], email=email.upper())  # the same customer
            # Routed while the rule is still on: it was asked, and passed.
            await w.open_fulfillments(second["id"], 1)
        assert held["hold"]["reason"] == "review"
        assert held["hold"]["detail"].startswith("new customer's first order ")
        assert held["hold"]["detail"].endswith(" EUR above 15.00")
        assert await w.payments(first["id"]) == []  # nothing charged
        await w.order_reaches(first["id"], "on_hold")
        timeline = await http.get(f"{urls['order_capture']}/v1/orders/{first['id']}/timeline")
        assert "new customer's first order" in str(timeline.json()["items"])

    async def test_an_address_that_fails_validation_is_reviewed_with_its_problem_named(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        await w.location("WH-BER", BERLIN, stock={lamp: 4})
        async with w.reviewed({"hold_invalid_addresses": True}):
            order = await w.place([(lamp, 1)], address={"postal_code": "ABC"})
            held = await w.saga_reaches(order["id"], "on_hold")
            fine = await w.place([(lamp, 1)])  # Unter den Linden 1, 10117 Berlin, DE
            await w.open_fulfillments(fine["id"], 1)
        problem = "postal code 'ABC' is not a DE postal code"
        assert held["hold"]["reason"] == "review"
        assert held["hold"]["detail"] == f"address failed validation: {problem}"
        assert await w.decisions(order["id"]) == []  # nothing routed, reserved or charged
        await w.order_reaches(order["id"], "on_hold")
        timeline = await http.get(f"{urls['order_capture']}/v1/orders/{order['id']}/timeline")
        assert problem in str(timeline.json()["items"])


class TestHolds:
    async def test_a_hold_and_its_release_round_trip_through_every_service(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
    ) -> None:
        w = World(http, urls, api)
        lamp = w.sku("LAMP")
        # No location holds it yet: the order waits to be routed, pending at order-capture.
        order = await w.place([(lamp, 1)])
        await w.saga_reaches(order["id"], "routing")
        assert (await w.order(order["id"]))["status"] == "pending"

        held = await w.hold(order["id"], "customer asked to wait")
        assert (held["state"], held["hold"]["reason"]) == ("on_hold", "manual")
        await w.order_reaches(order["id"], "on_hold")
        listed = {h["order_id"]: h for h in await w.holds("manual")}
        assert listed[order["id"]]["detail"] == "customer asked to wait"

        released = await w.release(order["id"], "customer confirmed")
        assert released["state"] == "routing"
        await w.order_reaches(order["id"], "pending")  # back to where it was

        async def hold_events() -> list[tuple[str, str]]:
            found = await events_about(orch.OrderHoldReleased.topic, {order["id"]})
            kinds = (orch.OrderOnHold.event_type, orch.OrderHoldReleased.event_type)
            return [(e.type, e.data["hold_id"]) for e in found if e.type in kinds]

        hold_id = held["hold"]["hold_id"]
        await eventually(
            hold_events,
            until=lambda found: (
                found
                == [
                    (orch.OrderOnHold.event_type, hold_id),
                    (orch.OrderHoldReleased.event_type, hold_id),
                ]
            ),
            what="order_on_hold and order_hold_released on orchestration's topic",
        )
        assert order["id"] not in {h["order_id"] for h in await w.holds()}

        # Released, it is routed like any other order once stock is there.
        code = await w.location("WH-BER", BERLIN, stock={lamp: 2})
        (f,) = await w.open_fulfillments(order["id"], 1)
        assert f["location_code"] == code
        await w.order_reaches(order["id"], "confirmed")


class TestStrategy:
    async def test_every_put_is_a_new_version_and_a_stale_if_match_is_412(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
    ) -> None:
        url = f"{urls['orchestration']}/v1/routing/strategy"
        current = await http.get(url)
        version = current.json()["version"]
        body = {k: v for k, v in current.json().items() if k not in ("version", "created_at")}
        put = await http.put(url, json=body, headers={"If-Match": f'"{version}"'})
        assert put.status_code == 200, put.text
        assert put.json()["version"] == version + 1
        assert put.headers["ETag"] == f'"{version + 1}"'
        stale = await http.put(url, json=body, headers={"If-Match": f'"{version}"'})
        assert stale.status_code == 412
        assert stale.json()["code"] == "precondition_failed"
        assert (await http.get(url)).json()["version"] == version + 1
