"""Who may call what, and what a caller narrowed to channels or locations sees and changes.

Every /v1 route needs its scope (403 without it). A saga, its routing decisions and its
payment calls belong to the order's channel; a fulfilment order to that channel and to its
location. Another channel's or location's object is 404 with the same problem as a missing
one, lists leave it out, and an action on it changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import func, select

from libs.auth.scopes import Scope
from libs.runtime import ServiceContainer
from services.orchestration.adapters.routing_view import RoutingView
from services.orchestration.adapters.tables import order_saga, plumbing
from services.orchestration.domain.commands import StartSaga
from services.orchestration.domain.fulfillment import Status
from services.orchestration.domain.routing.model import Method
from services.orchestration.service_layer.unit_of_work import LocationRow
from tests.orchestration.integration.conftest import (
    Seeded,
    order_snapshot,
    seed_order,
)
from tests.support.tokens import bearer, token

pytestmark = pytest.mark.usefixtures("migrated_databases")

READ, WRITE = Scope.ORDERS_READ, Scope.FULFILLMENT_WRITE
SHIPS = frozenset({"ship"})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:8]}"


def as_client(
    scopes: Iterable[str],
    *,
    channels: Iterable[str] | None = None,
    locations: Iterable[str] | None = None,
) -> dict[str, str]:
    return bearer(token(scopes, channels=channels, locations=locations, client_id="narrowed"))


async def seed(container: ServiceContainer, **kw: Any) -> Seeded:
    kw.setdefault("channel", unique("web"))
    kw.setdefault("location", unique("WH"))
    return await seed_order(container, **kw)


def assert_same_problem(
    foreign: httpx.Response, foreign_id: UUID, missing: httpx.Response, missing_id: UUID
) -> None:
    """Another caller's object and no object at all answer alike, byte for byte but the id."""
    assert foreign.status_code == missing.status_code == 404, foreign.text
    assert foreign.headers["content-type"] == missing.headers["content-type"]
    assert foreign.text.replace(str(foreign_id), "<id>") == missing.text.replace(
        str(missing_id), "<id>"
    )


async def outbox_rows(container: ServiceContainer, order_id: UUID) -> int:
    async with container.session_factory() as s:
        query = select(func.count()).where(plumbing.outbox.c.key == str(order_id))
        return int(await s.scalar(query) or 0)


# --- scopes ------------------------------------------------------------------------------

STRATEGY = {"max_parts": 3}
PROMISE = {"lines": [{"sku": "LAMP-001", "quantity": 1}], "ship_to": {"country": "DE"}}
ACTIONS = ("accept", "reject", "pick", "pack", "ship", "ready_for_pickup", "collect", "deliver")
BODIES: dict[str, dict[str, Any]] = {"reject": {"reason": "shelf damaged"}}

# (method, path with {order} / {fulfillment}, body, the scope it needs)
ROUTES: list[tuple[str, str, dict[str, Any] | None, Scope]] = [
    ("GET", "/v1/sagas", None, READ),
    ("GET", "/v1/sagas/{order}", None, READ),
    ("GET", "/v1/orders/{order}/routing-decisions", None, READ),
    ("GET", "/v1/orders/{order}/payments", None, READ),
    ("GET", "/v1/routing/strategy", None, READ),
    ("PUT", "/v1/routing/strategy", STRATEGY, Scope.ADMIN),
    ("POST", "/v1/promises", PROMISE, Scope.INVENTORY_READ),
    ("GET", "/v1/fulfillments", None, READ),
    ("GET", "/v1/fulfillments/{fulfillment}", None, READ),
    ("GET", "/v1/fulfillments/{fulfillment}/label", None, READ),
    *[("POST", f"/v1/fulfillments/{{fulfillment}}/{a}", BODIES.get(a), WRITE) for a in ACTIONS],
]


class TestScopes:
    @pytest.mark.parametrize(
        ("method", "path", "body", "needed"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
    )
    async def test_every_other_scope_is_not_enough(
        self,
        client: httpx.AsyncClient,
        container: ServiceContainer,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        needed: Scope,
    ) -> None:
        s = await seed(container)
        others = [sc for sc in Scope if sc not in (needed, Scope.ADMIN)]
        url = path.format(order=s.order_id, fulfillment=s.fulfillment_id)
        r = await client.request(method, url, json=body, headers=as_client(others))
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "insufficient_scope"
        assert needed in r.json()["detail"]

    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/v1/sagas", headers={"Authorization": ""})
        assert r.status_code == 401, r.text

    async def test_orders_read_reads_the_strategy_and_admin_changes_it(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/v1/routing/strategy", headers=as_client([READ]))
        assert r.status_code == 200, r.text
        body = {k: v for k, v in r.json().items() if k not in ("version", "created_at")}
        put = await client.put("/v1/routing/strategy", json=body, headers=as_client([Scope.ADMIN]))
        assert put.status_code == 200, put.text
        assert put.json()["version"] == r.json()["version"] + 1

    async def test_inventory_read_asks_for_promises(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        sku, location = unique("LAMP"), unique("WH-BER")
        # Orchestration's view of inventory, as inventory's events would have left it.
        async with container.session_factory.begin() as session:
            view = RoutingView(session)
            view.location_changed(
                LocationRow(
                    code=location,
                    type="warehouse",
                    active=True,
                    capabilities=["ship"],
                    country="DE",
                    latitude=None,
                    longitude=None,
                    priority=0,
                    daily_capacity=None,
                    processing_days=0,
                    cutoff=None,
                    timezone="Europe/Berlin",
                    version=1,
                )
            )
            view.stock_changed(sku, location, 5)
            await view.flush()
        body = PROMISE | {"lines": [{"sku": sku, "quantity": 1}]}
        r = await client.post("/v1/promises", json=body, headers=as_client([Scope.INVENTORY_READ]))
        assert r.status_code == 200, r.text
        (option, *_) = r.json()["options"]
        assert option["parts"][0]["location_code"] == location


# --- sagas, routing decisions and payments: narrowed by channel --------------------------

ORDER_PATHS = ("/v1/sagas/{}", "/v1/orders/{}/routing-decisions", "/v1/orders/{}/payments")


class TestSagasByChannel:
    @pytest.mark.parametrize(
        "channels",
        [[unique("marketplace")], []],
        ids=["another channel", "no channel at all"],
    )
    async def test_another_channels_order_is_not_found_like_a_missing_one(
        self, client: httpx.AsyncClient, container: ServiceContainer, channels: list[str]
    ) -> None:
        s = await seed(container)
        caller = as_client([READ], channels=channels)
        missing = uuid4()
        for path in ORDER_PATHS:
            foreign = await client.get(path.format(s.order_id), headers=caller)
            gone = await client.get(path.format(missing), headers=caller)
            assert_same_problem(foreign, s.order_id, gone, missing)
            assert foreign.json()["code"] == "saga_not_found"
            # The back office (no channels claim) does see it.
            assert (await client.get(path.format(s.order_id))).status_code == 200

    @pytest.mark.parametrize(
        "narrowing",
        [
            lambda s: {"channels": [s.channel]},
            lambda s: {"channels": [unique("marketplace"), s.channel]},
            lambda s: {"locations": [unique("ST")]},  # sagas are not narrowed by location
            lambda s: {},
        ],
        ids=["its channel", "among others", "a location claim only", "not narrowed"],
    )
    async def test_the_orders_channel_sees_it(
        self,
        client: httpx.AsyncClient,
        container: ServiceContainer,
        narrowing: Callable[[Seeded], dict[str, list[str]]],
    ) -> None:
        s = await seed(container)
        caller = as_client([READ], **narrowing(s))
        saga = await client.get(f"/v1/sagas/{s.order_id}", headers=caller)
        assert saga.status_code == 200, saga.text
        assert saga.json()["fulfillment_ids"] == [str(s.fulfillment_id)]
        decisions = await client.get(f"/v1/orders/{s.order_id}/routing-decisions", headers=caller)
        assert decisions.status_code == 200, decisions.text
        assert len(decisions.json()["items"]) == 1
        payments = await client.get(f"/v1/orders/{s.order_id}/payments", headers=caller)
        assert payments.status_code == 200, payments.text
        assert [p["kind"] for p in payments.json()["items"]] == ["authorize"]

    async def test_the_list_holds_only_the_callers_channels(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        web, market = unique("web"), unique("marketplace")
        a = await seed(container, channel=web)
        b = await seed(container, channel=market)
        c = await seed(container, channel=web)

        async def listed(headers: dict[str, str], query: str = "") -> list[str]:
            r = await client.get(f"/v1/sagas?limit=200{query}", headers=headers)
            assert r.status_code == 200, r.text
            return [item["order_id"] for item in r.json()["items"]]

        assert await listed(as_client([READ], channels=[web])) == [str(c.order_id), str(a.order_id)]
        assert await listed(as_client([READ], channels=[market])) == [str(b.order_id)]
        assert await listed(as_client([READ], channels=[market]), "&state=fulfilling") == [
            str(b.order_id)
        ]
        assert await listed(as_client([READ], channels=[unique("pos")])) == []
        assert await listed(as_client([READ], channels=[])) == []
        both = set(await listed(as_client([READ], channels=[web, market])))
        assert both == {str(a.order_id), str(b.order_id), str(c.order_id)}
        everyone = set(await listed(as_client([READ])))
        assert both <= everyone

    async def test_the_list_pages_within_the_callers_channels(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        web = unique("web")
        seeded = [await seed(container, channel=web) for _ in range(3)]
        await seed(container, channel=unique("marketplace"))
        caller = as_client([READ], channels=[web])
        seen: list[str] = []
        url = "/v1/sagas?limit=2"
        while True:
            r = await client.get(url, headers=caller)
            assert r.status_code == 200, r.text
            seen.extend(item["order_id"] for item in r.json()["items"])
            if not r.json()["next_cursor"]:
                break
            url = f"/v1/sagas?limit=2&cursor={r.json()['next_cursor']}"
        assert seen == [str(s.order_id) for s in reversed(seeded)]

    async def test_a_placed_orders_channel_is_kept_with_its_saga(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        """The saga a placed order starts (oms.order.placed's channel) is narrowed by it."""
        channel, order_id = unique("marketplace"), uuid4()
        await container.bus.handle(StartSaga(order_id, order_snapshot(channel)))
        async with container.session_factory() as session:
            stored = await session.scalar(
                select(order_saga.c.channel).where(order_saga.c.order_id == order_id)
            )
        assert stored == channel
        own = await client.get(
            f"/v1/sagas/{order_id}", headers=as_client([READ], channels=[channel])
        )
        assert own.status_code == 200, own.text
        other = await client.get(
            f"/v1/sagas/{order_id}", headers=as_client([READ], channels=[unique("web")])
        )
        assert other.status_code == 404, other.text


# --- fulfilment orders: narrowed by channel and by location ------------------------------

Narrowing = Callable[[Seeded], dict[str, list[str]]]

FOREIGN: list[tuple[str, Narrowing]] = [
    ("another channel", lambda s: {"channels": [unique("marketplace")]}),
    ("another location", lambda s: {"locations": [unique("ST")]}),
    ("its channel, another location", lambda s: {"channels": [s.channel], "locations": ["X"]}),
    ("another channel, its location", lambda s: {"channels": ["x"], "locations": [s.location]}),
    ("no location at all", lambda s: {"locations": []}),
]
OWN: list[tuple[str, Narrowing]] = [
    ("its channel", lambda s: {"channels": [s.channel]}),
    ("its location", lambda s: {"locations": [s.location, unique("ST")]}),
    ("its channel and location", lambda s: {"channels": [s.channel], "locations": [s.location]}),
    ("not narrowed", lambda s: {}),
]


def _ids(cases: list[tuple[str, Narrowing]]) -> list[str]:
    return [name for name, _ in cases]


class TestFulfillmentReads:
    @pytest.mark.parametrize(("name", "narrowing"), FOREIGN, ids=_ids(FOREIGN))
    async def test_another_channels_or_locations_fulfilment_is_not_found(
        self,
        client: httpx.AsyncClient,
        container: ServiceContainer,
        name: str,
        narrowing: Narrowing,
    ) -> None:
        s = await seed(container, status=Status.SHIPPED)
        caller = as_client([READ], **narrowing(s))
        missing = uuid4()
        for path in ("/v1/fulfillments/{}", "/v1/fulfillments/{}/label"):
            foreign = await client.get(path.format(s.fulfillment_id), headers=caller)
            gone = await client.get(path.format(missing), headers=caller)
            assert_same_problem(foreign, s.fulfillment_id, gone, missing)
            assert foreign.json()["code"] == "fulfillment_not_found"
            assert (await client.get(path.format(s.fulfillment_id))).status_code == 200
        listed = await client.get(f"/v1/fulfillments?order_id={s.order_id}", headers=caller)
        assert listed.status_code == 200, listed.text
        assert listed.json()["items"] == []

    async def test_another_location_is_not_found_before_the_label_is_refused(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        """Not shipped yet: its owner hears 409, anyone else 404."""
        s = await seed(container, status=Status.PACKED)
        url = f"/v1/fulfillments/{s.fulfillment_id}/label"
        own = await client.get(url, headers=as_client([READ], locations=[s.location]))
        assert own.status_code == 409, own.text
        other = await client.get(url, headers=as_client([READ], locations=[unique("ST")]))
        assert other.status_code == 404, other.text

    @pytest.mark.parametrize(("name", "narrowing"), OWN, ids=_ids(OWN))
    async def test_its_channel_and_location_see_it(
        self,
        client: httpx.AsyncClient,
        container: ServiceContainer,
        name: str,
        narrowing: Narrowing,
    ) -> None:
        s = await seed(container, status=Status.SHIPPED)
        caller = as_client([READ], **narrowing(s))
        r = await client.get(f"/v1/fulfillments/{s.fulfillment_id}", headers=caller)
        assert r.status_code == 200, r.text
        assert r.json()["location_code"] == s.location
        label = await client.get(f"/v1/fulfillments/{s.fulfillment_id}/label", headers=caller)
        assert label.status_code == 200, label.text
        assert label.headers["content-type"] == "application/pdf"
        listed = await client.get(f"/v1/fulfillments?order_id={s.order_id}", headers=caller)
        assert [f["id"] for f in listed.json()["items"]] == [str(s.fulfillment_id)]

    async def test_the_list_holds_only_the_callers_channels_at_its_locations(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        web, market = unique("web"), unique("marketplace")
        berlin, munich = unique("WH"), unique("ST")
        web_berlin = await seed(container, channel=web, location=berlin)
        web_munich = await seed(container, channel=web, location=munich)
        market_berlin = await seed(container, channel=market, location=berlin)

        async def listed(query: str = "", **narrowing: list[str]) -> list[str]:
            r = await client.get(
                f"/v1/fulfillments?limit=200{query}", headers=as_client([READ], **narrowing)
            )
            assert r.status_code == 200, r.text
            return [item["id"] for item in r.json()["items"]]

        def ids(*seeded: Seeded) -> list[str]:
            return [str(s.fulfillment_id) for s in seeded]

        assert await listed(channels=[web]) == ids(web_berlin, web_munich)
        assert await listed(locations=[berlin]) == ids(web_berlin, market_berlin)
        assert await listed(channels=[web], locations=[berlin]) == ids(web_berlin)
        assert await listed(channels=[market], locations=[munich]) == []
        # Asking for another location's queue by name does not get round the claim.
        assert await listed(f"&location={munich}", locations=[berlin]) == []
        assert await listed(f"&location={berlin}", locations=[berlin]) == ids(
            web_berlin, market_berlin
        )
        assert await listed(channels=[web], locations=[]) == []


# --- fulfilment actions: narrowed the same way, before anything changes ------------------

# action -> (the method and status it is allowed from, the status it leads to)
FROM: dict[str, tuple[Method, Status, Status]] = {
    "accept": (Method.SHIP, Status.CREATED, Status.ACCEPTED),
    "reject": (Method.SHIP, Status.CREATED, Status.REJECTED),
    "pick": (Method.SHIP, Status.ACCEPTED, Status.PICKED),
    "pack": (Method.SHIP, Status.PICKED, Status.PACKED),
    "ship": (Method.SHIP, Status.PACKED, Status.SHIPPED),
    "ready_for_pickup": (Method.PICKUP, Status.PICKED, Status.READY_FOR_PICKUP),
    "collect": (Method.PICKUP, Status.READY_FOR_PICKUP, Status.COLLECTED),
    "deliver": (Method.SHIP, Status.SHIPPED, Status.DELIVERED),
}


class TestFulfillmentActions:
    @pytest.mark.parametrize("action", ACTIONS)
    @pytest.mark.parametrize(("name", "narrowing"), FOREIGN, ids=_ids(FOREIGN))
    async def test_on_another_channels_or_locations_fulfilment_is_not_found_and_changes_nothing(
        self,
        client: httpx.AsyncClient,
        container: ServiceContainer,
        action: str,
        name: str,
        narrowing: Narrowing,
    ) -> None:
        method, status, _ = FROM[action]
        s = await seed(container, method=method, status=status)
        before = (await client.get(f"/v1/fulfillments/{s.fulfillment_id}")).json()
        caller = as_client([WRITE], **narrowing(s))
        missing = uuid4()
        body = BODIES.get(action)
        url = "/v1/fulfillments/{}/" + action
        foreign = await client.post(url.format(s.fulfillment_id), json=body, headers=caller)
        gone = await client.post(url.format(missing), json=body, headers=caller)
        assert_same_problem(foreign, s.fulfillment_id, gone, missing)
        after = (await client.get(f"/v1/fulfillments/{s.fulfillment_id}")).json()
        assert after == before
        assert await outbox_rows(container, s.order_id) == 0

    @pytest.mark.parametrize("action", ACTIONS)
    async def test_its_channel_and_location_act_on_it(
        self, client: httpx.AsyncClient, container: ServiceContainer, action: str
    ) -> None:
        method, status, result = FROM[action]
        s = await seed(container, method=method, status=status)
        caller = as_client([WRITE], channels=[s.channel], locations=[s.location])
        r = await client.post(
            f"/v1/fulfillments/{s.fulfillment_id}/{action}",
            json=BODIES.get(action),
            headers=caller,
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == result.value
        assert await outbox_rows(container, s.order_id) > 0
