"""Inventory's HTTP API against the real database: locations, stock and its ledger,
reservations and their events, inbound stock, availability, and the invariants at the end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from libs.http.pagination import encode_cursor
from libs.runtime import ServiceContainer
from tests.inventory.integration.conftest import (
    create_location,
    location_body,
    problem,
    published,
    reserve,
    stock,
    stock_at,
    unique,
)

pytestmark = pytest.mark.usefixtures("migrated_databases")

# Every location this module makes: the invariants are checked for all of them at the end.
MINE: set[str] = set()
EXPECTED_AT = "2030-12-01T08:00:00Z"


async def new_location(client: httpx.AsyncClient, **overrides: Any) -> str:
    code = unique("WH")
    await create_location(client, code, **overrides)
    MINE.add(code)
    return code


async def stocked(client: httpx.AsyncClient, on_hand: int) -> tuple[str, str]:
    """A fresh location holding `on_hand` units of a fresh SKU."""
    code, sku = await new_location(client), unique("SKU")
    await stock(client, code, sku, on_hand)
    return code, sku


class TestLocations:
    async def test_create_answers_201_with_the_location_and_its_etag(
        self, client: httpx.AsyncClient
    ) -> None:
        code = unique("WH")
        body = location_body(code, timezone="Europe/Berlin", priority=7)
        r = await client.post("/v1/locations", json=body)
        assert r.status_code == 201, r.text
        assert (r.headers["location"], r.headers["etag"]) == (f"/v1/locations/{code}", '"1"')
        got = r.json()
        assert (got["code"], got["type"], got["priority"], got["version"]) == (
            code,
            "warehouse",
            7,
            1,
        )
        assert got["address"]["country"] == "DE"
        assert (await client.get(f"/v1/locations/{code}")).json() == got

    async def test_a_second_location_with_the_code_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        code = await new_location(client)
        r = await client.post("/v1/locations", json=location_body(code))
        problem(r, 409, "location_exists")

    async def test_an_idempotency_key_replays_the_first_answer(
        self, client: httpx.AsyncClient
    ) -> None:
        code, key = unique("WH"), {"Idempotency-Key": unique("key")}
        first = await client.post("/v1/locations", json=location_body(code), headers=key)
        again = await client.post("/v1/locations", json=location_body(code), headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        other = await client.post("/v1/locations", json=location_body(unique("WH")), headers=key)
        problem(other, 409, "idempotency_key_reused")

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"address": {"line1": "x", "city": "x", "postal_code": "1", "country": "XX"}}, ""),
            ({"address": {"line1": "x", "city": "x", "postal_code": "1", "country": "de"}}, ""),
            ({"timezone": "Mars/Olympus"}, "timezone"),
        ],
    )
    async def test_an_unknown_country_or_time_zone_is_422(
        self, client: httpx.AsyncClient, overrides: dict[str, Any], field: str
    ) -> None:
        r = await client.post("/v1/locations", json=location_body(unique("WH"), **overrides))
        body = problem(r, 422, "validation_error")
        expected = field or "address.country"
        assert any(e["field"] == expected for e in body["errors"]), body

    async def test_a_change_needs_the_current_etag(self, client: httpx.AsyncClient) -> None:
        code = await new_location(client)
        url = f"/v1/locations/{code}"
        problem(await client.patch(url, json={"priority": 3}), 428, "precondition_required")
        r = await client.patch(url, json={"priority": 3}, headers={"If-Match": '"1"'})
        assert r.status_code == 200, r.text
        assert (r.json()["priority"], r.headers["etag"]) == (3, '"2"')
        stale = await client.patch(url, json={"priority": 4}, headers={"If-Match": '"1"'})
        problem(stale, 412, "precondition_failed")
        assert (await client.get(url)).json()["priority"] == 3

    async def test_the_list_filters_and_pages_with_a_cursor(
        self, client: httpx.AsyncClient
    ) -> None:
        liechtenstein = {"line1": "x", "city": "Vaduz", "postal_code": "9490", "country": "LI"}
        stores = sorted(
            [await new_location(client, type="store", address=liechtenstein) for _ in range(3)]
        )
        await new_location(client, type="warehouse", address=liechtenstein)
        seen: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(100):
            params: dict[str, str | int] = {"country": "LI", "type": "store", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/locations", params=params)).json()
            assert len(page["items"]) <= 2
            seen += page["items"]
            if not (cursor := page["next_cursor"]):
                break
        assert {(x["type"], x["address"]["country"]) for x in seen} == {("store", "LI")}
        codes = [x["code"] for x in seen]
        assert codes == sorted(codes) and [c for c in codes if c in stores] == stores


class TestStockLevels:
    async def test_a_count_writes_one_ledger_row_per_change(
        self, client: httpx.AsyncClient
    ) -> None:
        code, sku = await stocked(client, 10)
        await stock(client, code, sku, 10)
        await stock(client, code, sku, 7)
        rows = (await client.get(f"/v1/stock/{sku}/movements")).json()["items"]
        assert [(m["reason"], m["on_hand_delta"], m["on_hand_after"]) for m in rows] == [
            ("counted", -3, 7),
            ("counted", 10, 10),
        ]

    async def test_a_count_may_set_the_safety_stock(self, client: httpx.AsyncClient) -> None:
        code, sku = await new_location(client), unique("SKU")
        url = f"/v1/locations/{code}/stock/{sku}"
        r = await client.put(url, json={"on_hand": 10, "safety_stock": 4})
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in ("on_hand", "safety_stock", "available")} == {
            "on_hand": 10,
            "safety_stock": 4,
            "available": 6,
        }

    async def test_an_unknown_location_is_404(self, client: httpx.AsyncClient) -> None:
        r = await client.put(f"/v1/locations/{unique('NOPE')}/stock/X", json={"on_hand": 1})
        problem(r, 404, "location_not_found")

    @pytest.mark.parametrize(
        ("reason", "delta"), [("received", 5), ("found", 1), ("damaged", -2), ("lost", -1)]
    )
    async def test_an_adjustment_moves_on_hand_for_its_reason(
        self, client: httpx.AsyncClient, reason: str, delta: int
    ) -> None:
        code, sku = await stocked(client, 4)
        body = {"location_code": code, "sku": sku, "delta": delta, "reason": reason, "note": "n"}
        r = await client.post("/v1/stock/adjustments", json=body)
        assert r.status_code == 201, r.text
        entry = r.json()
        assert (entry["reason"], entry["on_hand_delta"], entry["on_hand_after"]) == (
            reason,
            delta,
            4 + delta,
        )
        assert entry["note"] == "n"
        assert (await stock_at(client, sku, code))["on_hand"] == 4 + delta

    async def test_a_reason_against_its_direction_is_422(self, client: httpx.AsyncClient) -> None:
        code, sku = await stocked(client, 4)
        body = {"location_code": code, "sku": sku, "delta": 3, "reason": "damaged"}
        r = await client.post("/v1/stock/adjustments", json=body)
        problem(r, 422, "adjustment_sign_mismatch")

    async def test_on_hand_never_drops_below_reserved_or_zero(
        self, client: httpx.AsyncClient
    ) -> None:
        code, sku = await stocked(client, 5)
        assert (await reserve(client, (sku, 3, code))).status_code == 201
        below_reserved = {"location_code": code, "sku": sku, "delta": -3, "reason": "lost"}
        r = await client.post("/v1/stock/adjustments", json=below_reserved)
        assert problem(r, 409, "on_hand_below_reserved")["extensions"] == {
            "on_hand": 2,
            "reserved": 3,
        }
        count = await client.put(f"/v1/locations/{code}/stock/{sku}", json={"on_hand": 2})
        problem(count, 409, "on_hand_below_reserved")
        other = await new_location(client)
        await stock(client, other, sku, 1)
        below_zero = {"location_code": other, "sku": sku, "delta": -2, "reason": "damaged"}
        problem(
            await client.post("/v1/stock/adjustments", json=below_zero), 409, "not_enough_on_hand"
        )
        assert (await stock_at(client, sku, code))["on_hand"] == 5

    async def test_the_ledger_is_newest_first_and_pages(self, client: httpx.AsyncClient) -> None:
        code, sku = await stocked(client, 1)
        for delta in (1, 2, 3, 4):
            body = {"location_code": code, "sku": sku, "delta": delta, "reason": "found"}
            assert (await client.post("/v1/stock/adjustments", json=body)).status_code == 201
        url = f"/v1/stock/{sku}/movements"
        everything = (await client.get(url)).json()["items"]
        assert [m["on_hand_delta"] for m in everything] == [4, 3, 2, 1, 1]
        first = (await client.get(url, params={"limit": 3})).json()
        rest = (await client.get(url, params={"limit": 3, "cursor": first["next_cursor"]})).json()
        assert first["items"] + rest["items"] == everything
        assert rest["next_cursor"] is None

    async def test_a_sku_never_stocked_is_404(self, client: httpx.AsyncClient) -> None:
        problem(await client.get(f"/v1/stock/{unique('GHOST')}"), 404, "sku_not_found")


class TestReservations:
    async def test_a_reservation_that_fits_is_confirmed_and_announced(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku = await stocked(client, 5)
        r = await reserve(client, (sku, 2, code))
        assert r.status_code == 201, r.text
        res = r.json()
        assert r.headers["location"] == f"/v1/reservations/{res['id']}"
        assert res["status"] == "confirmed"
        assert [(x["held"], x["backordered"]) for x in res["lines"]] == [(2, 0)]
        assert (await stock_at(client, sku, code))["reserved"] == 2
        (event,) = await published(container, res["order_id"], "reservation_confirmed")
        assert event["data"]["lines"][0] | {"expected_at": None} == {
            "sku": sku,
            "location_code": code,
            "quantity": 2,
            "held": 2,
            "backordered": 0,
            "expected_at": None,
            "line_id": None,
        }
        counted, changed = await published(container, sku, "stock_changed")
        assert (counted["data"]["reasons"], changed["subject"]) == (["counted"], sku)
        assert {k: changed["data"][k] for k in ("reserved", "available", "reasons")} == {
            "reserved": 2,
            "available": 3,
            "reasons": ["reserved"],
        }

    async def test_a_short_line_rejects_everything_and_holds_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, lamp = await stocked(client, 5)
        shade = unique("SKU")
        await stock(client, code, shade, 1)
        order_id = str(uuid.uuid4())
        r = await reserve(client, (lamp, 2, code), (shade, 3, code), order_id=order_id)
        body = problem(r, 409, "insufficient_stock")
        assert body["extensions"]["lines"] == [
            {"sku": shade, "requested": 3, "available": 1, "location_code": code}
        ]
        assert (await stock_at(client, lamp, code))["reserved"] == 0
        assert (await stock_at(client, shade, code))["reserved"] == 0
        (rejected,) = await published(container, order_id, "reservation_rejected")
        assert rejected["data"]["lines"][0]["available"] == 1
        listed = (await client.get("/v1/reservations", params={"order_id": order_id})).json()
        assert [x["status"] for x in listed["items"]] == ["rejected"]

    @pytest.mark.parametrize("unknown", ["location", "sku"])
    async def test_an_unknown_location_or_sku_is_422(
        self, client: httpx.AsyncClient, unknown: str
    ) -> None:
        code, sku = await stocked(client, 5)
        line = (unique("GHOST"), 1, code) if unknown == "sku" else (sku, 1, unique("NOPE"))
        problem(await reserve(client, line), 422, f"unknown_{unknown}")

    @pytest.mark.parametrize("quantity", [0, -1])
    async def test_a_quantity_below_one_is_422(
        self, client: httpx.AsyncClient, quantity: int
    ) -> None:
        code, sku = await stocked(client, 5)
        problem(await reserve(client, (sku, quantity, code)), 422, "validation_error")

    async def test_an_idempotency_key_replays_the_reservation_and_holds_once(
        self, client: httpx.AsyncClient
    ) -> None:
        code, sku = await stocked(client, 5)
        order_id, key = str(uuid.uuid4()), {"Idempotency-Key": unique("key")}
        first = await reserve(client, (sku, 2, code), order_id=order_id, headers=key)
        again = await reserve(client, (sku, 2, code), order_id=order_id, headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert (await stock_at(client, sku, code))["reserved"] == 2
        other = await reserve(client, (sku, 1, code), order_id=order_id, headers=key)
        problem(other, 409, "idempotency_key_reused")

    async def test_a_release_gives_back_part_or_all(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku = await stocked(client, 5)
        res = (await reserve(client, (sku, 3, code))).json()
        url = f"/v1/reservations/{res['id']}/release"
        part = await client.post(url, json={"lines": [{"sku": sku, "quantity": 1}]})
        assert part.status_code == 200, part.text
        assert (part.json()["status"], part.json()["lines"][0]["released"]) == ("confirmed", 1)
        assert (await stock_at(client, sku, code))["reserved"] == 2
        rest = await client.post(url, json={})
        assert rest.json()["status"] == "released"
        assert (await stock_at(client, sku, code))["reserved"] == 0
        events = await published(container, res["order_id"], "reservation_released")
        assert [(e["data"]["lines"][0]["held"], e["data"]["remaining_open"]) for e in events] == [
            (1, 2),
            (2, 0),
        ]

    async def test_a_commit_lowers_on_hand_and_reserved(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku = await stocked(client, 5)
        res = (await reserve(client, (sku, 3, code))).json()
        url = f"/v1/reservations/{res['id']}/commit"
        body = {"lines": [{"sku": sku, "quantity": 2}], "shipment_id": "SHP-1"}
        assert (await client.post(url, json=body)).status_code == 200
        after = await stock_at(client, sku, code)
        assert (after["on_hand"], after["reserved"]) == (3, 1)
        too_many = {"lines": [{"sku": sku, "quantity": 2}]}
        refused = problem(await client.post(url, json=too_many), 409, "commit_exceeds_held")
        assert refused["extensions"] == {"sku": sku, "held": 1}
        (committed,) = await published(container, res["order_id"], "stock_committed")
        assert committed["data"]["shipment_id"] == "SHP-1"
        assert committed["data"]["lines"] == [{"sku": sku, "location_code": code, "quantity": 2}]
        rest = await client.post(url, json={})
        assert rest.json()["status"] == "committed"
        assert (await stock_at(client, sku, code))["on_hand"] == 2

    async def test_a_temporary_hold_is_made_firm_by_confirm(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, sku = await stocked(client, 5)
        expires_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        res = (await reserve(client, (sku, 1, code), expires_at=expires_at)).json()
        assert (res["status"], res["expires_at"] is not None) == ("held", True)
        r = await client.post(f"/v1/reservations/{res['id']}/confirm")
        assert (r.json()["status"], r.json()["expires_at"]) == ("confirmed", None)
        events = await published(container, res["order_id"], "reservation_confirmed")
        assert [e["data"].get("expires_at") is None for e in events] == [False, True]
        await client.post(f"/v1/reservations/{res['id']}/release", json={})
        late = await client.post(f"/v1/reservations/{res['id']}/confirm")
        problem(late, 409, "reservation_not_temporary")


class TestInbound:
    async def test_a_delivery_is_received_in_parts_through_the_ledger(
        self, client: httpx.AsyncClient
    ) -> None:
        code, sku = await stocked(client, 1)
        body = {"location_code": code, "sku": sku, "quantity": 10, "expected_at": EXPECTED_AT}
        created = await client.post("/v1/inbound", json=body | {"reference": "PO-1"})
        assert created.status_code == 201, created.text
        inbound = created.json()
        assert (inbound["status"], inbound["remaining"]) == ("open", 10)
        url = f"/v1/inbound/{inbound['id']}/receive"
        part = (await client.post(url, json={"quantity": 4})).json()
        assert (part["received_quantity"], part["remaining"], part["status"]) == (4, 6, "open")
        assert (await stock_at(client, sku, code))["on_hand"] == 5
        (entry, *_) = (await client.get(f"/v1/stock/{sku}/movements")).json()["items"]
        assert (entry["reason"], entry["on_hand_delta"], entry["reference"]) == (
            "inbound_received",
            4,
            f"inbound:{inbound['id']}",
        )
        too_many = await client.post(url, json={"quantity": 7})
        assert problem(too_many, 409, "receive_exceeds_expected")["extensions"] == {"remaining": 6}
        rest = (await client.post(url, json={})).json()
        assert (rest["remaining"], rest["status"]) == (0, "received")
        assert (await stock_at(client, sku, code))["on_hand"] == 11
        problem(await client.post(url, json={}), 409, "inbound_closed")

    async def test_cancel_drops_what_is_still_expected(self, client: httpx.AsyncClient) -> None:
        code, sku = await stocked(client, 0)
        body = {"location_code": code, "sku": sku, "quantity": 5, "expected_at": EXPECTED_AT}
        inbound = (await client.post("/v1/inbound", json=body)).json()
        await client.post(f"/v1/inbound/{inbound['id']}/receive", json={"quantity": 2})
        cancelled = (await client.post(f"/v1/inbound/{inbound['id']}/cancel")).json()
        assert (cancelled["status"], cancelled["cancelled_quantity"], cancelled["remaining"]) == (
            "cancelled",
            3,
            0,
        )
        again = await client.post(f"/v1/inbound/{inbound['id']}/cancel")
        assert (again.status_code, again.json()["cancelled_quantity"]) == (200, 3)


class TestAvailability:
    async def test_availability_per_location_with_filters_and_incoming_stock(
        self, client: httpx.AsyncClient
    ) -> None:
        austria = {"line1": "x", "city": "Wien", "postal_code": "1010", "country": "AT"}
        sku = unique("SKU")
        warehouse, store = await new_location(client), await new_location(client, type="store")
        vienna, closed = await new_location(client, address=austria), await new_location(client)
        for code, units in ((warehouse, 5), (store, 3), (vienna, 4), (closed, 9)):
            await stock(client, code, sku, units)
        patch = await client.patch(
            f"/v1/locations/{closed}", json={"active": False}, headers={"If-Match": '"1"'}
        )
        assert patch.status_code == 200, patch.text
        body = {"location_code": warehouse, "sku": sku, "quantity": 7, "expected_at": EXPECTED_AT}
        assert (await client.post("/v1/inbound", json=body)).status_code == 201

        async def ask(**params: str) -> dict[str, Any]:
            r = await client.get("/v1/availability", params={"skus": sku} | params)
            assert r.status_code == 200, r.text
            (item,) = r.json()["items"]
            return dict(item)

        everywhere = await ask()
        assert everywhere["available"] == 12, "the inactive location's 9 do not count"
        assert [(x["location_code"], x["available"]) for x in everywhere["locations"]] == [
            (warehouse, 5),
            (vienna, 4),
            (store, 3),
        ]
        (incoming,) = everywhere["incoming"]
        assert (incoming["location_code"], incoming["quantity"]) == (warehouse, 7)
        assert incoming["expected_at"].startswith("2030-12-01T08:00:00")
        assert (await ask(country="AT"))["available"] == 4
        assert (await ask(country="AT"))["incoming"] == []
        assert (await ask(location_type="store"))["available"] == 3
        posted = await client.post("/v1/availability", json={"skus": [sku], "country": "DE"})
        assert posted.json()["items"][0]["available"] == 8
        # The compact shape narrows the same way (its statement is built once per narrowing,
        # with the country and the type bound when it runs).
        narrowings: list[tuple[dict[str, str], dict[str, int]]] = [
            ({}, {warehouse: 5, vienna: 4, store: 3}),
            ({"country": "AT"}, {vienna: 4}),
            ({"location_type": "store"}, {store: 3}),
            ({"country": "DE", "location_type": "store"}, {store: 3}),
            ({"country": "AT", "location_type": "store"}, {}),
        ]
        for narrowing, held in narrowings:
            r = await client.get("/v1/availability/compact", params={"skus": sku} | narrowing)
            compact = r.json()
            (item,) = compact["items"]
            at = [compact["locations"][i] for i in item["location_index"]]
            assert dict(zip(at, item["location_available"], strict=True)) == held, narrowing
            assert (item["available"], item["incoming"]) == (
                (await ask(**narrowing))["available"],
                (await ask(**narrowing))["incoming"],
            )

    async def test_the_compact_answer_says_the_same_in_arrays(
        self, client: httpx.AsyncClient
    ) -> None:
        lamp, shade, ghost = unique("SKU"), unique("SKU"), unique("GHOST")
        first, second = await new_location(client), await new_location(client)
        closed = await new_location(client)
        for code, sku, units in ((first, lamp, 5), (second, lamp, 2), (second, shade, 4)):
            await stock(client, code, sku, units)
        await stock(client, closed, lamp, 9)
        patch = await client.patch(
            f"/v1/locations/{closed}", json={"active": False}, headers={"If-Match": '"1"'}
        )
        assert patch.status_code == 200, patch.text
        body = {"location_code": second, "sku": shade, "quantity": 7, "expected_at": EXPECTED_AT}
        assert (await client.post("/v1/inbound", json=body)).status_code == 201
        r = await reserve(client, (lamp, 4, first), (shade, 6, second), allow_backorder=True)
        assert r.status_code == 201, r.text
        skus = ",".join([lamp, shade, ghost])

        full = (await client.get("/v1/availability", params={"skus": skus})).json()
        compact = await client.get("/v1/availability/compact", params={"skus": skus})
        assert compact.status_code == 200, compact.text
        body = compact.json()
        assert body["locations"] == sorted([first, second])
        for item, whole in zip(body["items"], full["items"], strict=True):
            at = [body["locations"][i] for i in item["location_index"]]
            assert dict(zip(at, item["location_available"], strict=True)) == {
                x["location_code"]: x["available"] for x in whole["locations"]
            }
            assert {k: item[k] for k in ("sku", "available", "incoming", "backordered")} == {
                k: whole[k] for k in ("sku", "available", "incoming", "backordered")
            }
        assert [(x["sku"], x["available"], x["backordered"]) for x in body["items"]] == [
            (lamp, 3, 0),
            (shade, 0, 2),
            (ghost, 0, 0),
        ]
        posted = await client.post("/v1/availability/compact", json={"skus": [shade, lamp]})
        assert [x["sku"] for x in posted.json()["items"]] == [shade, lamp]
        narrowed = await client.get(
            "/v1/availability/compact", params={"skus": lamp, "country": "AT"}
        )
        assert narrowed.json() == {
            "locations": [],
            "items": [
                {
                    "sku": lamp,
                    "available": 0,
                    "location_index": [],
                    "location_available": [],
                    "incoming": [],
                    "backordered": 0,
                }
            ],
        }

    async def test_a_sku_never_stocked_is_unavailable(self, client: httpx.AsyncClient) -> None:
        ghost = unique("GHOST")
        r = await client.post("/v1/availability", json={"skus": [ghost]})
        assert r.json()["items"] == [
            {"sku": ghost, "available": 0, "locations": [], "incoming": [], "backordered": 0}
        ]


class TestCursors:
    @pytest.mark.parametrize(
        ("path", "values"),
        [
            ("/v1/locations", [7]),  # a number where the location code belongs
            ("/v1/stock/{sku}/movements", ["not-a-movement-id"]),
            ("/v1/inbound", [1733385600, 42]),  # numbers for the date-time and the id
            ("/v1/reservations", ["2026-12-05T07:30:00+00:00", "not-a-uuid"]),
            ("/v1/stock/imports", [1733385600, 42]),
        ],
    )
    async def test_a_cursor_with_values_of_the_wrong_type_is_422(
        self, client: httpx.AsyncClient, path: str, values: list[Any]
    ) -> None:
        # Decodable (base64 JSON of the list's length), yet not a cursor this list issued.
        _, sku = await stocked(client, 1)
        r = await client.get(path.format(sku=sku), params={"cursor": encode_cursor(values)})
        problem(r, 422, "invalid_cursor")


class TestInvariants:
    async def test_every_counter_this_module_moved_matches_its_ledger(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/v1/invariants")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["stock_rows"] > 0
        # Only this module's rows: other tests share the database and run at the same time.
        assert [d for d in body["drift"] if d["location_code"] in MINE] == []
        assert MINE, "the tests above made locations"
