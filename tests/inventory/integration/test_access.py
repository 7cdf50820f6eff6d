"""Who may do what in inventory: every operation needs its scope, and a token narrowed to some
locations (a store device) writes only there. Elsewhere is, to it, exactly like a location or
delivery that does not exist: the same 404 with the same body, and nothing changes. Reads stay
shared, because available-to-promise must see every location."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from libs.auth.scopes import Scope
from libs.runtime import ServiceContainer
from services.inventory.api.app import create_app
from tests.inventory.integration.conftest import (
    create_location,
    problem,
    reserve,
    stock,
    stock_at,
    unique,
)
from tests.support.tokens import bearer, token

pytestmark = pytest.mark.usefixtures("migrated_databases")

READ, ADJUST, RESERVE = Scope.INVENTORY_READ, Scope.INVENTORY_ADJUST, Scope.INVENTORY_RESERVE
INVENTORY = (READ, ADJUST, RESERVE)
EXPECTED_AT = "2030-12-01T08:00:00Z"


def device(locations: Iterable[str] | None, *scopes: Scope) -> dict[str, str]:
    """The headers of a store device: every inventory scope (or those named), narrowed to
    `locations` (None: not narrowed)."""
    return bearer(token(scopes or INVENTORY, locations=locations, client_id="store-device"))


def same_body(r: httpx.Response, value: str) -> dict[str, Any]:
    """The problem body with `value` (the code or id asked for) blanked out, to compare one
    answer with another's."""
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    body: dict[str, Any] = json.loads(r.text.replace(value, "<x>"))
    return body


# --- scopes -------------------------------------------------------------------------------

X = str(uuid.uuid4())
# Each operation, a harmless request to it, and the scope it needs.
OPERATIONS: list[tuple[str, str, str]] = [
    ("POST", "/v1/locations", Scope.ADMIN),
    ("GET", "/v1/locations", READ),
    ("GET", "/v1/locations/NOPE", READ),
    ("PATCH", "/v1/locations/NOPE", Scope.ADMIN),
    ("POST", "/v1/stock/imports", ADJUST),
    ("GET", "/v1/stock/imports", READ),
    ("GET", f"/v1/stock/imports/{X}", READ),
    ("GET", f"/v1/stock/imports/{X}/errors", READ),
    ("PUT", "/v1/locations/NOPE/stock/NOPE", ADJUST),
    ("POST", "/v1/stock/adjustments", ADJUST),
    ("GET", "/v1/stock/NOPE", READ),
    ("GET", "/v1/stock/NOPE/movements", READ),
    ("PUT", "/v1/skus/NOPE/policy", ADJUST),
    ("POST", "/v1/inbound", ADJUST),
    ("GET", "/v1/inbound", READ),
    ("GET", f"/v1/inbound/{X}", READ),
    ("POST", f"/v1/inbound/{X}/receive", ADJUST),
    ("POST", f"/v1/inbound/{X}/cancel", ADJUST),
    ("POST", f"/v1/inbound/{X}/reschedule", ADJUST),
    ("GET", "/v1/availability?skus=NOPE", READ),
    ("POST", "/v1/availability", READ),
    ("POST", "/v1/reservations", RESERVE),
    ("GET", "/v1/reservations", READ),
    ("GET", f"/v1/reservations/{X}", READ),
    ("POST", f"/v1/reservations/{X}/confirm", RESERVE),
    ("POST", f"/v1/reservations/{X}/release", RESERVE),
    ("POST", f"/v1/reservations/{X}/commit", RESERVE),
    ("GET", "/v1/invariants", Scope.ADMIN),
]
EVERY_OTHER_SCOPE = [s for s in Scope if s is not Scope.ADMIN]


async def call(
    client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str]
) -> httpx.Response:
    # An empty JSON object: invalid for every body that needs fields, so nothing is created.
    body: dict[str, Any] | None = None if method == "GET" else {}
    return await client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "url", "scope"), OPERATIONS)
async def test_a_token_without_the_scope_is_403_and_with_it_gets_through(
    client: httpx.AsyncClient, method: str, url: str, scope: str
) -> None:
    others = [s for s in EVERY_OTHER_SCOPE if s != scope]
    refused = await call(client, method, url, bearer(token(others, client_id="no-scope")))
    assert problem(refused, 403, "insufficient_scope")["extensions"] == {"required_scopes": [scope]}
    allowed = await call(client, method, url, bearer(token([scope], client_id="just-scope")))
    assert allowed.status_code not in (401, 403), allowed.text


async def test_without_a_valid_token_it_is_401(container: ServiceContainer) -> None:
    app = create_app(container, parts=("api",))
    app.state.container = container
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as anonymous:
        problem(await anonymous.get("/v1/stock/NOPE"), 401, "unauthenticated")
        forged = {"Authorization": "Bearer not.a.token"}
        put = "/v1/locations/NOPE/stock/NOPE"
        refused = await anonymous.put(put, json={"on_hand": 1}, headers=forged)
        problem(refused, 401, "unauthenticated")


# --- the locations claim ------------------------------------------------------------------


class Store:
    """Two stores: `here` holds 10 units of `sku` and an open delivery of 5 more; `there` is
    another store's location, so a device of `there` must not write `here`."""

    def __init__(self, here: str, there: str, sku: str, inbound_id: str) -> None:
        self.here, self.there, self.sku, self.inbound_id = here, there, sku, inbound_id
        self.unknown = unique("NOPE")


@pytest.fixture
async def store(client: httpx.AsyncClient) -> Store:
    here, there, sku = unique("ST"), unique("ST"), unique("SKU")
    for code in (here, there):
        await create_location(client, code, type="store", capabilities=["ship", "pickup"])
    await stock(client, here, sku, 10)
    body = {"location_code": here, "sku": sku, "quantity": 5, "expected_at": EXPECTED_AT}
    created = await client.post("/v1/inbound", json=body)
    assert created.status_code == 201, created.text
    return Store(here, there, sku, created.json()["id"])


async def movements_at(client: httpx.AsyncClient, sku: str, code: str) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/stock/{sku}/movements", params={"location_code": code})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def inbound_of(client: httpx.AsyncClient, inbound_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/inbound/{inbound_id}")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


class TestCountsAndAdjustments:
    async def test_a_count_elsewhere_is_404_like_an_unknown_location(
        self, client: httpx.AsyncClient, store: Store
    ) -> None:
        elsewhere = device([store.there])
        url = "/v1/locations/{}/stock/" + store.sku
        refused = await client.put(url.format(store.here), json={"on_hand": 3}, headers=elsewhere)
        unknown = await client.put(
            url.format(store.unknown), json={"on_hand": 3}, headers=elsewhere
        )
        problem(refused, 404, "location_not_found")
        assert same_body(refused, store.here) == same_body(unknown, store.unknown)
        assert (await stock_at(client, store.sku, store.here))["on_hand"] == 10

        counted = await client.put(
            url.format(store.here), json={"on_hand": 3}, headers=device([store.here])
        )
        assert counted.status_code == 200, counted.text
        assert (await stock_at(client, store.sku, store.here))["on_hand"] == 3

    async def test_an_empty_claim_counts_nowhere(
        self, client: httpx.AsyncClient, store: Store
    ) -> None:
        r = await client.put(
            f"/v1/locations/{store.here}/stock/{store.sku}",
            json={"on_hand": 3},
            headers=device([]),
        )
        problem(r, 404, "location_not_found")
        assert (await stock_at(client, store.sku, store.here))["on_hand"] == 10

    async def test_an_adjustment_elsewhere_is_404_like_an_unknown_location(
        self, client: httpx.AsyncClient, store: Store
    ) -> None:
        elsewhere = device([store.there], ADJUST)
        body = {"sku": store.sku, "delta": -2, "reason": "damaged"}
        before = await movements_at(client, store.sku, store.here)
        refused = await client.post(
            "/v1/stock/adjustments", json=body | {"location_code": store.here}, headers=elsewhere
        )
        unknown = await client.post(
            "/v1/stock/adjustments",
            json=body | {"location_code": store.unknown},
            headers=elsewhere,
        )
        problem(refused, 404, "location_not_found")
        assert same_body(refused, store.here) == same_body(unknown, store.unknown)
        assert await movements_at(client, store.sku, store.here) == before

        done = await client.post(
            "/v1/stock/adjustments",
            json=body | {"location_code": store.here},
            headers=device([store.here], ADJUST),
        )
        assert done.status_code == 201, done.text
        assert (await stock_at(client, store.sku, store.here))["on_hand"] == 8

    async def test_a_replayed_idempotency_key_does_not_reach_past_the_claim(
        self, client: httpx.AsyncClient, store: Store
    ) -> None:
        """The back office adjusted `here` with a key; a device of `there` sending the same
        key and body gets the 404 of an unknown location, not the back office's movement.
        Keys belong to the client that sent them: the same key from a device of `here` is that
        device's own adjustment, and only the back office's retry replays the first one."""
        body = {"location_code": store.here, "sku": store.sku, "delta": 1, "reason": "found"}
        key = {"Idempotency-Key": unique("key")}
        first = await client.post("/v1/stock/adjustments", json=body, headers=key)
        assert first.status_code == 201, first.text
        replay = await client.post(
            "/v1/stock/adjustments", json=body, headers=key | device([store.there])
        )
        problem(replay, 404, "location_not_found")
        again = await client.post(
            "/v1/stock/adjustments", json=body, headers=key | device([store.here])
        )
        assert again.status_code == 201, again.text
        assert again.json()["id"] != first.json()["id"]
        retry = await client.post("/v1/stock/adjustments", json=body, headers=key)
        assert (retry.status_code, retry.json()["id"]) == (201, first.json()["id"])
        assert (await stock_at(client, store.sku, store.here))["on_hand"] == 12


class TestInbound:
    async def test_announcing_a_delivery_elsewhere_is_404_like_an_unknown_location(
        self, client: httpx.AsyncClient, store: Store
    ) -> None:
        elsewhere = device([store.there])
        body = {"sku": store.sku, "quantity": 7, "expected_at": EXPECTED_AT}
        refused = await client.post(
            "/v1/inbound", json=body | {"location_code": store.here}, headers=elsewhere
        )
        unknown = await client.post(
            "/v1/inbound", json=body | {"location_code": store.unknown}, headers=elsewhere
        )
        problem(refused, 404, "location_not_found")
        assert same_body(refused, store.here) == same_body(unknown, store.unknown)
        listed = (await client.get("/v1/inbound", params={"sku": store.sku})).json()["items"]
        assert [x["id"] for x in listed] == [store.inbound_id]

        created = await client.post(
            "/v1/inbound", json=body | {"location_code": store.here}, headers=device([store.here])
        )
        assert created.status_code == 201, created.text

    @pytest.mark.parametrize(
        ("action", "body"),
        [
            ("receive", {"quantity": 2}),
            ("cancel", None),
            ("reschedule", {"expected_at": "2031-01-05T08:00:00Z"}),
        ],
    )
    async def test_a_delivery_elsewhere_is_404_like_a_missing_one(
        self, client: httpx.AsyncClient, store: Store, action: str, body: dict[str, int] | None
    ) -> None:
        elsewhere = device([store.there], ADJUST)
        missing = str(uuid.uuid4())
        refused = await client.post(
            f"/v1/inbound/{store.inbound_id}/{action}", json=body, headers=elsewhere
        )
        unknown = await client.post(f"/v1/inbound/{missing}/{action}", json=body, headers=elsewhere)
        problem(refused, 404, "inbound_not_found")
        assert same_body(refused, store.inbound_id) == same_body(unknown, missing)
        untouched = await inbound_of(client, store.inbound_id)
        assert (untouched["status"], untouched["remaining"]) == ("open", 5)
        assert (await stock_at(client, store.sku, store.here))["on_hand"] == 10

        done = await client.post(
            f"/v1/inbound/{store.inbound_id}/{action}", json=body, headers=device([store.here])
        )
        assert done.status_code == 200, done.text
        remaining = {"receive": 3, "cancel": 0, "reschedule": 5}[action]
        assert done.json()["remaining"] == remaining

    async def test_a_replayed_receipt_does_not_reach_past_the_claim(
        self, client: httpx.AsyncClient, store: Store
    ) -> None:
        url = f"/v1/inbound/{store.inbound_id}/receive"
        key = {"Idempotency-Key": unique("key")}
        first = await client.post(url, json={"quantity": 1}, headers=key)
        assert first.status_code == 200, first.text
        replay = await client.post(url, json={"quantity": 1}, headers=key | device([store.there]))
        problem(replay, 404, "inbound_not_found")
        assert (await inbound_of(client, store.inbound_id))["remaining"] == 4


class TestImports:
    @pytest.mark.parametrize("claim", ["here", "none"])
    async def test_a_token_with_a_locations_claim_cannot_import(
        self, client: httpx.AsyncClient, store: Store, claim: str
    ) -> None:
        newest = (await client.get("/v1/stock/imports", params={"limit": 1})).json()["items"]
        locations = [store.here] if claim == "here" else []
        r = await client.post(
            "/v1/stock/imports",
            content=f"location_code,sku,on_hand\n{store.here},{store.sku},1\n".encode(),
            headers={"content-type": "text/csv"} | device(locations, ADJUST),
        )
        problem(r, 403, "location_narrowed_import")
        after = (await client.get("/v1/stock/imports", params={"limit": 1})).json()["items"]
        assert after == newest
        assert (await stock_at(client, store.sku, store.here))["on_hand"] == 10


class TestSharedReads:
    async def test_a_device_elsewhere_reads_every_location(
        self, client: httpx.AsyncClient, store: Store
    ) -> None:
        """Reads are not narrowed: available-to-promise must see the whole network."""
        reader = device([store.there], READ)
        held = await reserve(client, (store.sku, 2, store.here))
        assert held.status_code == 201, held.text

        location = await client.get(f"/v1/locations/{store.here}", headers=reader)
        assert (location.status_code, location.json()["code"]) == (200, store.here)
        level = await client.get(f"/v1/stock/{store.sku}", headers=reader)
        assert [x["location_code"] for x in level.json()["locations"]] == [store.here]
        ledger = await client.get(f"/v1/stock/{store.sku}/movements", headers=reader)
        assert {x["location_code"] for x in ledger.json()["items"]} == {store.here}
        listed = await client.get("/v1/inbound", params={"sku": store.sku}, headers=reader)
        assert [x["id"] for x in listed.json()["items"]] == [store.inbound_id]
        one = await client.get(f"/v1/inbound/{store.inbound_id}", headers=reader)
        assert one.status_code == 200, one.text
        atp = await client.get("/v1/availability", params={"skus": store.sku}, headers=reader)
        assert [x["location_code"] for x in atp.json()["items"][0]["locations"]] == [store.here]
        reservation = await client.get(f"/v1/reservations/{held.json()['id']}", headers=reader)
        assert reservation.status_code == 200, reservation.text
