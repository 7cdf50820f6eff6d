"""The access matrix: every operation of every committed contract, against the running stack.

The operations and the scope each needs come from contracts/openapi (what FastAPI generated
from the routes), so an operation added without an entry here fails the coverage test, and a
scope changed in a route changes what is probed. For each operation that needs a token:

- no token, and tokens that are expired, tampered with, for another audience or issuer,
  signed by an unknown key, or `alg: none`: 401;
- a valid token with every scope but the one the operation needs: 403;
- a token with the scope but narrowed to another sales channel or location: 404 for an object
  of that channel or location (indistinguishable from a missing one), and a list without it;
- a token with just that scope, narrowed to the object's own channel and location: 2xx.

The refused requests come first and must not change anything; the accepted one runs last, in
an order that walks the objects through their lifecycles (accept before pick, ...).
"""

from __future__ import annotations

import base64
import functools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from libs.auth.keys import generate_signing_key
from libs.auth.scopes import Scope
from libs.auth.settings import AuthSettings
from libs.auth.tokens import mint
from libs.messaging.topics import ORDER_EVENTS
from tests.e2e.conftest import ROOT, Stack
from tests.e2e.orchestration_flows import BERLIN, POTSDAM, World
from tests.support.api import generated_clients
from tests.support.environment import BOOTSTRAP_SERVERS, SERVICES, TOPIC_PREFIX, base_url
from tests.support.orders import order_body
from tests.support.polling import eventually
from tests.support.tokens import bearer, token

CONTRACTS = {
    "order_capture": "order-capture.json",
    "inventory": "inventory.json",
    "orchestration": "orchestration.json",
    "returns": "returns.json",
    "notifications": "notifications.json",
    "insights": "insights.json",
}
CHANNEL = "web"
OTHER_CHANNEL = "marketplace"
OTHER_LOCATION = "NOWHERE"
UNKNOWN_LOCATION = "NO-SUCH-LOCATION"
# Fields the server sets on a strategy or policy, left out when one is put back.
SERVER_SET = ("version", "created_at", "updated_at")
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/v1/self-service/")


@dataclass(frozen=True)
class Operation:
    service: str
    operation_id: str
    method: str
    path: str
    scopes: tuple[str, ...]  # empty: public


def contract_operations() -> list[Operation]:
    found = []
    for service, name in CONTRACTS.items():
        doc = json.loads((ROOT / "contracts" / "openapi" / name).read_text())
        for path, operations in doc["paths"].items():
            for method, op in operations.items():
                scopes = tuple(s for r in op.get("security", []) for s in r.get("bearerAuth", []))
                found.append(Operation(service, op["operationId"], method.upper(), path, scopes))
    return found


OPERATIONS = {op.operation_id: op for op in contract_operations()}


@dataclass
class Call:
    """One concrete request of an operation. `channel`/`location` say what the object belongs
    to (what a narrowed token must be narrowed to); `hidden` is an id that a list must show to
    its own channel's token and hide from the other's."""

    path: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    channel: str | None = None
    location: str | None = None
    hidden: str | None = None
    # Creating in another channel is refused (403), not hidden (404).
    other_channel_status: int = 404
    # The same request for an object that does not exist, when not just a fresh id in the path.
    missing_path: str | None = None
    missing_json: Any = None


@dataclass
class Objects:
    """What the matrix works on, made through the admin clients before it runs."""

    world: World
    http: httpx.AsyncClient
    urls: dict[str, str]
    warehouse: str = ""
    store: str = ""
    spare: str = ""
    sku: str = ""
    pickup_sku: str = ""
    shipped: dict[str, Any] = field(default_factory=dict)  # an order, its fulfilment walked
    edited: dict[str, Any] = field(default_factory=dict)  # an order to edit and cancel
    expedited: dict[str, Any] = field(default_factory=dict)  # an order to expedite
    fulfillment: str = ""
    pickup: str = ""
    rejected: str = ""
    delivered: dict[str, Any] = field(default_factory=dict)
    returned: str = ""
    to_reject: str = ""
    import_id: str = ""
    inbound: str = ""
    inbound_to_cancel: str = ""
    reservations: dict[str, str] = field(default_factory=dict)
    waiting: str = ""  # an order put on hold (and released) by the matrix
    strategy: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    webhook: str = ""  # a webhook endpoint filtered to CHANNEL
    webhook_to_delete: str = ""
    notification: str = ""  # the confirmation e-mail of `shipped`
    webhook_delivery: str = ""  # a test ping's delivery to `webhook`
    hooked: dict[str, Any] = field(default_factory=dict)  # an order placed after `webhook`
    order_delivery: str = ""  # a delivery of `hooked`'s events to `webhook`
    dead_letter: str = ""  # a forged record of the order events, dead-lettered and collected

    def url(self, service: str, path: str) -> str:
        return self.urls[service] + path


# The test's return policy: `damaged` waits for review, so one return can be rejected.
POLICY = {
    "window_days": 30,
    "review_reasons": ["damaged"],
    "refund_shipping_for": ["damaged"],
    "refund_timing": "on_receipt",
    "disposition": {"resellable": "restock", "damaged": "write_off", "defective": "quarantine"},
}


async def _ok(response: Awaitable[httpx.Response], *statuses: int) -> dict[str, Any]:
    r = await response
    assert r.status_code in (statuses or (200, 201, 202)), (r.status_code, r.text[:500])
    body: dict[str, Any] = r.json() if r.content else {}
    return body


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _fulfilment_of(o: Objects, order: dict[str, Any]) -> str:
    (created,) = await o.world.open_fulfillments(order["id"], 1)
    return str(created["id"])


async def _open_return(o: Objects, reason: str) -> str:
    line = o.delivered["lines"][0]["id"]
    body = {
        "order_id": o.delivered["id"],
        "lines": [{"line_id": line, "quantity": 1, "reason": reason}],
        "method": "mail",
        "resolution": {"type": "refund"},
    }

    async def attempt() -> httpx.Response:
        return await o.http.post(o.url("returns", "/v1/returns"), json=body, headers=_key())

    r = await eventually(
        attempt,
        until=lambda r: r.status_code == 201,
        timeout=30,
        what="returns to know the delivered order",
    )
    return str(r.json()["id"])


@pytest.fixture(scope="module")
async def objects(stack: Stack) -> AsyncIterator[Objects]:
    urls = {name: base_url(name) for name in SERVICES}
    async with (
        generated_clients(urls) as api,
        httpx.AsyncClient(timeout=15, headers=bearer(token())) as http,
    ):
        w = World(http, urls, api)
        o = Objects(world=w, http=http, urls=urls)
        o.sku, o.pickup_sku = w.sku("MTX"), w.sku("MTXP")
        o.warehouse = await w.location("MTX-WH", BERLIN, stock={o.sku: 100})
        o.store = await w.location(
            "MTX-STORE", POTSDAM, type="store", capabilities=("pickup",), stock={o.pickup_sku: 5}
        )
        o.spare = await w.location("MTX-SPARE", BERLIN)
        o.policy = await _ok(http.get(o.url("returns", "/v1/return-policy")))
        await _ok(http.put(o.url("returns", "/v1/return-policy"), json=POLICY))
        o.strategy = await _ok(http.get(o.url("orchestration", "/v1/routing/strategy")))

        o.shipped = await w.place([(o.sku, 1)])
        o.edited = await w.place([(o.sku, 1)])
        o.expedited = await w.place([(o.sku, 1)])
        rejected = await w.place([(o.sku, 1)])
        pickup = await w.place(
            [(o.pickup_sku, 1)],
            delivery={"method": "pickup", "pickup_location_code": o.store},
        )
        o.fulfillment = await _fulfilment_of(o, o.shipped)
        o.rejected = await _fulfilment_of(o, rejected)
        o.pickup = await _fulfilment_of(o, pickup)
        for action in ("accept", "pick"):
            await _ok(http.post(o.url("orchestration", f"/v1/fulfillments/{o.pickup}/{action}")))

        o.delivered = await w.place([(o.sku, 3)], token="tok_refund_fail")
        await w.ship_all_the_way(await _fulfilment_of(o, o.delivered))
        await w.order_reaches(o.delivered["id"], "completed")
        o.returned = await _open_return(o, "size_fit")
        o.to_reject = await _open_return(o, "damaged")

        imported = await http.post(
            o.url("inventory", "/v1/stock/imports"),
            content=f"location_code,sku,on_hand\n{o.spare},{o.sku},3\n".encode(),
            headers={"Content-Type": "text/csv", **_key()},
        )
        assert imported.status_code == 202, imported.text
        o.import_id = imported.json()["id"]
        for name in ("inbound", "inbound_to_cancel"):
            created = await _ok(
                http.post(
                    o.url("inventory", "/v1/inbound"),
                    json={
                        "sku": o.sku,
                        "location_code": o.warehouse,
                        "quantity": 10,
                        "expected_at": "2030-01-01T08:00:00Z",
                        "reference": f"PO-{name}",
                    },
                    headers=_key(),
                )
            )
            setattr(o, name, created["id"])
        for name in ("get", "confirm", "release", "commit"):
            created = await _ok(
                http.post(
                    o.url("inventory", "/v1/reservations"),
                    json={
                        "order_id": str(uuid.uuid4()),
                        "lines": [{"sku": o.sku, "location_code": o.warehouse, "quantity": 1}],
                    },
                    headers=_key(),
                )
            )
            o.reservations[name] = created["id"]
        for name in ("webhook", "webhook_to_delete"):
            created = await _ok(
                http.post(o.url("notifications", "/v1/webhook-endpoints"), json=WEBHOOK)
            )
            setattr(o, name, created["id"])
        ping = await _ok(
            http.post(o.url("notifications", f"/v1/webhook-endpoints/{o.webhook}/test"))
        )
        o.webhook_delivery = ping["id"]
        o.hooked = await w.place([(o.sku, 1)])
        o.order_delivery = await _order_delivery_of(o, o.hooked)
        await _ok(
            http.post(o.url("inventory", f"/v1/reservations/{o.reservations['commit']}/confirm"))
        )
        o.notification = await _notification_of(o, o.shipped)
        o.dead_letter = await _dead_letter(o)
        yield o
        restore = {k: v for k, v in o.policy.items() if k not in SERVER_SET}
        await _ok(http.put(o.url("returns", "/v1/return-policy"), json=restore))
        strategy = {k: v for k, v in o.strategy.items() if k not in SERVER_SET}
        await _ok(http.put(o.url("orchestration", "/v1/routing/strategy"), json=strategy))


async def _notification_of(o: Objects, order: dict[str, Any]) -> str:
    """The order's first customer notification (its confirmation), once recorded."""

    async def listed() -> list[dict[str, Any]]:
        r = await o.http.get(
            o.url("notifications", "/v1/notifications"), params={"order_id": order["id"]}
        )
        items: list[dict[str, Any]] = r.json()["items"] if r.status_code == 200 else []
        return items

    items = await eventually(listed, until=bool, timeout=30, what="the order's confirmation")
    return str(items[-1]["id"])


async def _order_delivery_of(o: Objects, order: dict[str, Any]) -> str:
    """A delivery of the order's events to the matrix's webhook endpoint, once recorded."""

    async def listed() -> list[dict[str, Any]]:
        r = await o.http.get(
            o.url("notifications", "/v1/deliveries"), params={"order_id": order["id"]}
        )
        items = r.json()["items"] if r.status_code == 200 else []
        return [d for d in items if d["endpoint_id"] == o.webhook]

    items = await eventually(listed, until=bool, timeout=30, what="the order's webhook delivery")
    return str(items[-1]["id"])


async def _dead_letter(o: Objects) -> str:
    """A dead letter of the run's order events, once insights has collected it: a record that
    is not JSON, which every consumer of the topic dead-letters (marked as forged, so the check
    of every event on Kafka knows it is not ours)."""
    marker = f"matrix-{uuid.uuid4()}"
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
    await producer.start()
    try:
        await producer.send_and_wait(
            TOPIC_PREFIX + ORDER_EVENTS,
            key=marker.encode(),
            value=f"not json {marker}".encode(),
            headers=[("test-poison", b"1")],
        )
    finally:
        await producer.stop()

    async def listed() -> list[dict[str, Any]]:
        r = await o.http.get(
            o.url("insights", "/v1/dead-letters"), params={"topic": ORDER_EVENTS, "limit": 100}
        )
        items = r.json()["items"] if r.status_code == 200 else []
        return [d for d in items if d["key"] == marker]

    items = await eventually(listed, until=bool, timeout=30, what="the dead letter collected")
    return str(items[0]["id"])


async def _etag(o: Objects, order_id: str) -> str:
    r = await o.http.get(o.url("order_capture", f"/v1/orders/{order_id}"))
    return r.headers["ETag"]


async def _refund_failed(o: Objects) -> None:
    async def refunds() -> list[dict[str, Any]]:
        r = await o.http.get(o.url("returns", f"/v1/returns/{o.returned}"))
        found: list[dict[str, Any]] = r.json().get("refunds", [])
        return found

    await eventually(
        refunds,
        until=lambda rs: any(r["status"] == "failed" for r in rs),
        timeout=30,
        what="the refund to fail (tok_refund_fail)",
    )


Builder = Callable[[Objects], Awaitable[Call]]


def call(make: Callable[[Objects], Call]) -> Builder:
    async def build(o: Objects) -> Call:
        return make(o)

    return build


def _order(o: Objects, suffix: str = "") -> Call:
    return Call(f"/v1/orders/{o.shipped['id']}{suffix}", channel=CHANNEL)


def _fulfilment(o: Objects, action: str, fid: str | None = None, **kw: Any) -> Call:
    fid = fid or o.fulfillment
    location = o.store if fid == o.pickup else o.warehouse
    return Call(f"/v1/fulfillments/{fid}/{action}", channel=CHANNEL, location=location, **kw)


def _return(o: Objects, suffix: str = "", rid: str | None = None, **kw: Any) -> Call:
    return Call(f"/v1/returns/{rid or o.returned}{suffix}", channel=CHANNEL, **kw)


WEBHOOK = {
    "url": "https://hooks.example.com/matrix",
    "event_types": ["oms.order.*"],
    "channels": [CHANNEL],
}


def _webhook(o: Objects, suffix: str = "", webhook: str | None = None, **kw: Any) -> Call:
    return Call(f"/v1/webhook-endpoints/{webhook or o.webhook}{suffix}", channel=CHANNEL, **kw)


async def _update(o: Objects) -> Call:
    return Call(
        f"/v1/orders/{o.edited['id']}",
        json={"notes": "ring twice"},
        headers={"If-Match": await _etag(o, o.edited["id"])},
        channel=CHANNEL,
    )


async def _update_location(o: Objects) -> Call:
    r = await o.http.get(o.url("inventory", f"/v1/locations/{o.spare}"))
    return Call(
        f"/v1/locations/{o.spare}", json={"priority": 3}, headers={"If-Match": r.headers["ETag"]}
    )


async def _hold(o: Objects) -> Call:
    """An order of a SKU no location holds: it waits to be routed (within its routing grace),
    so it can be held now; the list of holds and the release then work on it."""
    order = await o.world.place([(o.world.sku("MTXW"), 1)])
    await o.world.saga_reaches(order["id"], "routing")
    o.waiting = order["id"]
    return Call(f"/v1/orders/{o.waiting}/hold", json={"note": "matrix"}, channel=CHANNEL)


async def _declined(o: Objects) -> Call:
    """An order whose card was declined: held until a new payment method comes."""
    order = await o.world.place([(o.sku, 1)], token="tok_decline")
    await o.world.saga_reaches(order["id"], "on_hold")
    return Call(
        f"/v1/orders/{order['id']}/payment", json={"token": "tok_test_4242"}, channel=CHANNEL
    )


async def _in_review(o: Objects, action: str, body: dict[str, str]) -> Call:
    """An order a review rule held (a risky customer's, while the rule was in force)."""
    async with o.world.reviewed({"max_risk_score": 80}):
        order = await o.world.place([(o.sku, 1)], email="risky.buyer@example.com")
        await o.world.saga_reaches(order["id"], "on_hold")
    return Call(f"/v1/orders/{order['id']}/{action}", json=body, channel=CHANNEL)


async def _carrier_rates(o: Objects) -> Call:
    """The table in force, put again: a new version with the same rates."""
    r = await o.http.get(o.url("orchestration", "/v1/carrier-rates"))
    body = {k: v for k, v in r.json().items() if k not in (*SERVER_SET, "levels")}
    return Call("/v1/carrier-rates", json=body)


async def _review_rules(o: Objects) -> Call:
    r = await o.http.get(o.url("orchestration", "/v1/review-rules"))
    body = {k: v for k, v in r.json().items() if k not in SERVER_SET}
    return Call("/v1/review-rules", json=body)


async def _retry_refunds(o: Objects) -> Call:
    await _refund_failed(o)
    return _return(o, "/refunds/retry")


def _new_location(o: Objects) -> Call:
    code = f"MTX-NEW-{uuid.uuid4().hex[:6].upper()}"
    address = {"line1": "Weg 2", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    body = {
        "code": code,
        "name": code,
        "type": "warehouse",
        "address": address,
        "capabilities": ["ship"],
    }
    return Call("/v1/locations", json=body, headers=_key())


def _placed_order(o: Objects) -> Call:
    body = order_body([(o.sku, 1, "10.00")], channel=CHANNEL)
    return Call("/v1/orders", json=body, headers=_key(), channel=CHANNEL, other_channel_status=403)


# Every operation that needs a token, in the order the accepted requests run.
REQUESTS: dict[str, Builder] = {
    # order-capture
    "orders-create": call(lambda o: _placed_order(o)),
    "orders-list": call(lambda o: Call("/v1/orders", channel=CHANNEL, hidden=o.shipped["id"])),
    "orders-get": call(lambda o: _order(o)),
    "orders-get-by-number": call(
        lambda o: Call(
            f"/v1/orders/by-number/{o.shipped['order_number']}",
            channel=CHANNEL,
            missing_path="/v1/orders/by-number/OMS-99999999",
        )
    ),
    "orders-timeline": call(lambda o: _order(o, "/timeline")),
    "orders-update": _update,
    "orders-cancel": call(
        lambda o: Call(
            f"/v1/orders/{o.edited['id']}/cancel", json={"reason": "test"}, channel=CHANNEL
        )
    ),
    "orders-change-priority": call(
        lambda o: Call(
            f"/v1/orders/{o.expedited['id']}/priority", json={"priority": "high"}, channel=CHANNEL
        )
    ),
    # inventory
    "locations-create": call(_new_location),
    "locations-list": call(lambda o: Call("/v1/locations")),
    "locations-get": call(lambda o: Call(f"/v1/locations/{o.warehouse}")),
    "locations-update": _update_location,
    "stock-imports-create": call(
        lambda o: Call(
            "/v1/stock/imports",
            content=f"location_code,sku,on_hand\n{o.spare},{o.sku},4\n".encode(),
            headers={"Content-Type": "text/csv", **_key()},
        )
    ),
    "stock-imports-list": call(lambda o: Call("/v1/stock/imports")),
    "stock-imports-get": call(lambda o: Call(f"/v1/stock/imports/{o.import_id}")),
    "stock-imports-errors": call(lambda o: Call(f"/v1/stock/imports/{o.import_id}/errors")),
    "stock-set-level": call(
        lambda o: Call(
            f"/v1/locations/{o.warehouse}/stock/{o.sku}",
            json={"on_hand": 100},
            location=o.warehouse,
            missing_path=f"/v1/locations/{UNKNOWN_LOCATION}/stock/{o.sku}",
        )
    ),
    "stock-adjust": call(
        lambda o: Call(
            "/v1/stock/adjustments",
            json={"sku": o.sku, "location_code": o.warehouse, "delta": -1, "reason": "damaged"},
            headers=_key(),
            location=o.warehouse,
            missing_json={
                "sku": o.sku,
                "location_code": UNKNOWN_LOCATION,
                "delta": -1,
                "reason": "damaged",
            },
        )
    ),
    "stock-get": call(lambda o: Call(f"/v1/stock/{o.sku}")),
    "stock-movements": call(lambda o: Call(f"/v1/stock/{o.sku}/movements")),
    "stock-set-policy": call(
        lambda o: Call(f"/v1/skus/{o.sku}/policy", json={"low_stock_threshold": 1})
    ),
    "inbound-create": call(
        lambda o: Call(
            "/v1/inbound",
            json={
                "sku": o.sku,
                "location_code": o.warehouse,
                "quantity": 1,
                "expected_at": "2030-01-01T08:00:00Z",
                "reference": "PO-MATRIX",
            },
            headers=_key(),
            location=o.warehouse,
            missing_json={
                "sku": o.sku,
                "location_code": UNKNOWN_LOCATION,
                "quantity": 1,
                "expected_at": "2030-01-01T08:00:00Z",
                "reference": "PO-MATRIX",
            },
        )
    ),
    "inbound-list": call(lambda o: Call("/v1/inbound")),
    "inbound-get": call(lambda o: Call(f"/v1/inbound/{o.inbound}")),
    "inbound-receive": call(
        lambda o: Call(
            f"/v1/inbound/{o.inbound}/receive",
            json={"quantity": 5},
            headers=_key(),
            location=o.warehouse,
        )
    ),
    "inbound-reschedule": call(
        lambda o: Call(
            f"/v1/inbound/{o.inbound}/reschedule",
            json={"expected_at": "2031-01-05T08:00:00Z"},
            location=o.warehouse,
        )
    ),
    "inbound-cancel": call(
        lambda o: Call(f"/v1/inbound/{o.inbound_to_cancel}/cancel", location=o.warehouse)
    ),
    "availability-get": call(lambda o: Call("/v1/availability", params={"skus": o.sku})),
    "availability-query": call(lambda o: Call("/v1/availability", json={"skus": [o.sku]})),
    "availability-get-compact": call(
        lambda o: Call("/v1/availability/compact", params={"skus": o.sku})
    ),
    "availability-query-compact": call(
        lambda o: Call("/v1/availability/compact", json={"skus": [o.sku]})
    ),
    "reservations-create": call(
        lambda o: Call(
            "/v1/reservations",
            json={
                "order_id": str(uuid.uuid4()),
                "lines": [{"sku": o.sku, "location_code": o.warehouse, "quantity": 1}],
            },
            headers=_key(),
        )
    ),
    "reservations-list": call(lambda o: Call("/v1/reservations")),
    "reservations-get": call(lambda o: Call(f"/v1/reservations/{o.reservations['get']}")),
    "reservations-confirm": call(
        lambda o: Call(f"/v1/reservations/{o.reservations['confirm']}/confirm")
    ),
    "reservations-release": call(
        lambda o: Call(
            f"/v1/reservations/{o.reservations['release']}/release",
            json={"lines": [{"sku": o.sku, "quantity": 1}]},
        )
    ),
    "reservations-commit": call(
        lambda o: Call(
            f"/v1/reservations/{o.reservations['commit']}/commit",
            json={"lines": [{"sku": o.sku, "quantity": 1}], "shipment_id": "SHP-MATRIX"},
        )
    ),
    "invariants-invariants": call(lambda o: Call("/v1/invariants")),
    # orchestration
    "sagas-list-sagas": call(lambda o: Call("/v1/sagas", channel=CHANNEL, hidden=o.shipped["id"])),
    "sagas-get-saga": call(lambda o: Call(f"/v1/sagas/{o.shipped['id']}", channel=CHANNEL)),
    "sagas-routing-decisions": call(lambda o: _order(o, "/routing-decisions")),
    "sagas-payments": call(lambda o: _order(o, "/payments")),
    "sagas-hold": _hold,
    "sagas-list-holds": call(lambda o: Call("/v1/holds", channel=CHANNEL, hidden=o.waiting)),
    "sagas-release": call(lambda o: Call(f"/v1/orders/{o.waiting}/release", channel=CHANNEL)),
    "sagas-new-payment-method": _declined,
    "review-get-review-rules": call(lambda o: Call("/v1/review-rules")),
    "routing-get-carrier-rates": call(lambda o: Call("/v1/carrier-rates")),
    "routing-put-carrier-rates": _carrier_rates,
    "review-put-review-rules": _review_rules,
    "review-approve": lambda o: _in_review(o, "approve", {"note": "matrix"}),
    "review-reject": lambda o: _in_review(o, "reject", {"reason": "matrix"}),
    "routing-get-strategy": call(lambda o: Call("/v1/routing/strategy")),
    "routing-put-strategy": call(
        lambda o: Call(
            "/v1/routing/strategy",
            json={k: v for k, v in o.strategy.items() if k not in SERVER_SET},
        )
    ),
    "routing-promises": call(
        lambda o: Call(
            "/v1/promises",
            json={
                "lines": [{"sku": o.sku, "quantity": 1}],
                "ship_to": {"country": "DE", "latitude": 52.52, "longitude": 13.405},
            },
        )
    ),
    "fulfillments-list-fulfillments": call(
        lambda o: Call(
            "/v1/fulfillments",
            channel=CHANNEL,
            location=o.warehouse,
            hidden=o.fulfillment,
            params={"order_id": o.shipped["id"]},
        )
    ),
    "fulfillments-get-fulfillment": call(
        lambda o: Call(f"/v1/fulfillments/{o.fulfillment}", channel=CHANNEL, location=o.warehouse)
    ),
    "fulfillments-accept": call(lambda o: _fulfilment(o, "accept")),
    "fulfillments-pick": call(lambda o: _fulfilment(o, "pick")),
    "fulfillments-pack": call(lambda o: _fulfilment(o, "pack")),
    "fulfillments-ship": call(
        lambda o: _fulfilment(
            o,
            "ship",
            json={"carrier": "dhl", "service": "paket", "tracking_number": "00340434161094042557"},
        )
    ),
    "fulfillments-label": call(lambda o: _fulfilment(o, "label")),
    "fulfillments-deliver": call(lambda o: _fulfilment(o, "deliver")),
    "fulfillments-ready-for-pickup": call(lambda o: _fulfilment(o, "ready_for_pickup", o.pickup)),
    "fulfillments-collect": call(lambda o: _fulfilment(o, "collect", o.pickup)),
    "fulfillments-reject": call(
        lambda o: _fulfilment(o, "reject", o.rejected, json={"reason": "shelf empty"})
    ),
    # returns
    "returns-get-policy": call(lambda o: Call("/v1/return-policy")),
    "returns-put-policy": call(lambda o: Call("/v1/return-policy", json=POLICY)),
    "returns-open-return": call(
        lambda o: Call(
            "/v1/returns",
            json={
                "order_id": o.delivered["id"],
                "lines": [
                    {"line_id": o.delivered["lines"][0]["id"], "quantity": 1, "reason": "size_fit"}
                ],
                "method": "mail",
                "resolution": {"type": "refund"},
            },
            headers=_key(),
            channel=CHANNEL,
            missing_json={
                "order_id": str(uuid.uuid4()),
                "lines": [{"line_id": str(uuid.uuid4()), "quantity": 1, "reason": "size_fit"}],
                "method": "mail",
                "resolution": {"type": "refund"},
            },
        )
    ),
    "returns-list-returns": call(lambda o: Call("/v1/returns", channel=CHANNEL, hidden=o.returned)),
    "returns-analytics": call(lambda o: Call("/v1/returns/analytics")),
    "returns-get-return": call(lambda o: _return(o)),
    "returns-approve": call(lambda o: _return(o, "/approve")),
    "returns-drop-off": call(lambda o: _return(o, "/drop_off")),
    "returns-label": call(lambda o: _return(o, "/label")),
    "returns-receive": call(
        lambda o: _return(
            o,
            "/receive",
            json={
                "lines": [
                    {
                        "line_id": o.delivered["lines"][0]["id"],
                        "quantity": 1,
                        "condition": "resellable",
                    }
                ],
                "location_code": o.warehouse,
            },
            headers=_key(),
        )
    ),
    "returns-retry-refunds": _retry_refunds,
    "returns-reject": call(
        lambda o: _return(o, "/reject", rid=o.to_reject, json={"reason": "worn"})
    ),
    # notifications
    "webhook-endpoints-create": call(
        lambda o: Call(
            "/v1/webhook-endpoints", json=WEBHOOK, channel=CHANNEL, other_channel_status=403
        )
    ),
    "webhook-endpoints-list-endpoints": call(
        lambda o: Call("/v1/webhook-endpoints", channel=CHANNEL, hidden=o.webhook)
    ),
    "webhook-endpoints-get": call(lambda o: _webhook(o)),
    "webhook-endpoints-update": call(lambda o: _webhook(o, json={"description": "matrix"})),
    "webhook-endpoints-delete": call(lambda o: _webhook(o, webhook=o.webhook_to_delete)),
    "webhook-endpoints-rotate-secret": call(lambda o: _webhook(o, "/rotate-secret")),
    "webhook-endpoints-list-deliveries": call(lambda o: _webhook(o, "/deliveries")),
    "notifications-list-notifications": call(
        lambda o: Call(
            "/v1/notifications",
            channel=CHANNEL,
            hidden=o.notification,
            params={"order_id": o.shipped["id"]},
        )
    ),
    "notifications-resend": call(
        lambda o: Call(
            f"/v1/notifications/{o.notification}/resend", channel=CHANNEL, headers=_key()
        )
    ),
    "notifications-put-preferences": call(
        lambda o: Call(
            f"/v1/notification-preferences/{o.shipped['id']}",
            json={"opted_out": False},
            channel=CHANNEL,
        )
    ),
    "webhook-endpoints-replay": call(
        lambda o: _webhook(o, "/replay", params={"since": "2020-01-01T00:00:00Z"})
    ),
    "webhook-endpoints-send-test-ping": call(lambda o: _webhook(o, "/test")),
    "webhook-deliveries-list-for-order": call(
        lambda o: Call(
            "/v1/deliveries",
            channel=CHANNEL,
            hidden=o.order_delivery,
            params={"order_id": o.hooked["id"]},
        )
    ),
    "webhook-deliveries-get": call(
        lambda o: Call(f"/v1/deliveries/{o.webhook_delivery}", channel=CHANNEL)
    ),
    "webhook-deliveries-retry": call(
        lambda o: Call(f"/v1/deliveries/{o.webhook_delivery}/retry", channel=CHANNEL)
    ),
    # insights: the key figures (their narrowing has tests of its own: tests/insights) and the
    # dead letters (admin only)
    "kpis-summary": call(lambda o: Call("/v1/kpis/summary")),
    "kpis-orders": call(lambda o: Call("/v1/kpis/orders")),
    "kpis-rates": call(lambda o: Call("/v1/kpis/rates")),
    "kpis-lead-times": call(lambda o: Call("/v1/kpis/lead-times")),
    "kpis-backorders": call(lambda o: Call("/v1/kpis/backorders")),
    "kpis-holds": call(lambda o: Call("/v1/kpis/holds")),
    "kpis-returns": call(lambda o: Call("/v1/kpis/returns")),
    "kpis-refunds": call(lambda o: Call("/v1/kpis/refunds")),
    "kpis-locations": call(lambda o: Call("/v1/kpis/locations")),
    "kpis-stock-outs": call(lambda o: Call("/v1/kpis/stock-outs")),
    "kpis-low-stock": call(lambda o: Call("/v1/kpis/low-stock")),
    "dead-letters-list-dead-letters": call(lambda o: Call("/v1/dead-letters")),
    "dead-letters-get-dead-letter": call(lambda o: Call(f"/v1/dead-letters/{o.dead_letter}")),
    "dead-letters-redrive": call(
        lambda o: Call(f"/v1/dead-letters/{o.dead_letter}/redrive", headers=_key())
    ),
    # every service
    "audit-audit": call(
        lambda o: Call("/v1/audit", params={"resource": f"order:{o.shipped['id']}"})
    ),
}


SECURED = [op for op in contract_operations() if op.scopes]
# The audit log is served by every service under one operation id.
CASES = [
    pytest.param(op, id=f"{op.service}:{op.operation_id}")
    for op_id in REQUESTS
    for op in SECURED
    if op.operation_id == op_id
]


def test_every_operation_is_either_public_by_design_or_in_the_matrix() -> None:
    public = {f"{op.method} {op.path}" for op in contract_operations() if not op.scopes}
    assert all(path.split(" ", 1)[1].startswith(PUBLIC_PREFIXES) for path in public), public
    assert {op.operation_id for op in SECURED} == set(REQUESTS)
    assert {op.operation_id for op in contract_operations() if not op.scopes} == set(
        PUBLIC_REQUESTS
    )
    assert len(CASES) == len(SECURED)


# The ways a token can be untrustworthy, each made from the token that would be accepted.
def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _claims(text: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(_unb64(text.split(".")[1]))
    return decoded


def bad_tokens(scopes: list[str], **narrowing: Any) -> dict[str, str | None]:
    settings = AuthSettings()
    good = token(scopes, **narrowing)
    header, _, signature = good.split(".")
    escalated = _claims(good) | {"scope": "admin"}
    stranger = _stranger(_claims_header(good)["kid"])
    return {
        "no token": None,
        "expired": token(scopes, ttl_s=60, now=time.time() - 3600, **narrowing),
        "tampered": f"{header}.{_b64(escalated)}.{signature}",
        "wrong audience": mint(
            settings.signing_key() or {},
            issuer=settings.ISSUER,
            audience="urn:another-api",
            client_id="test-client",
            scopes=scopes,
        ),
        "wrong issuer": mint(
            settings.signing_key() or {},
            issuer="https://evil.example.com",
            audience=settings.AUDIENCE,
            client_id="test-client",
            scopes=scopes,
        ),
        "unknown key": mint(
            stranger,
            issuer=settings.ISSUER,
            audience=settings.AUDIENCE,
            client_id="test-client",
            scopes=scopes,
        ),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(good))}.",
    }


@functools.cache
def _stranger(kid: str) -> dict[str, Any]:
    """A key the services have never seen, under the kid they trust: one for the run (making
    an RSA key takes about 85 ms, and the matrix asks for one per operation)."""
    return generate_signing_key(kid)


def _claims_header(text: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(_unb64(text.split(".")[0]))
    return decoded


def _headers(c: Call, bearer_token: str | None) -> dict[str, str]:
    auth = {} if bearer_token is None else bearer(bearer_token)
    return {**c.headers, **auth}


async def _send(o: Objects, op: Operation, c: Call, bearer_token: str | None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=15) as client:
        return await client.request(
            op.method,
            o.url(op.service, c.path),
            json=c.json,
            content=c.content,
            params=c.params,
            headers=_headers(c, bearer_token),
        )


def _narrowing(c: Call) -> dict[str, Any]:
    return {
        "channels": [c.channel] if c.channel else None,
        "locations": [c.location] if c.location else None,
    }


@pytest.mark.parametrize("op", CASES)
async def test_access(objects: Objects, op: Operation) -> None:
    c = await REQUESTS[op.operation_id](objects)
    required = list(op.scopes)

    for why, bad in bad_tokens(required, **_narrowing(c)).items():
        r = await _send(objects, op, c, bad)
        assert r.status_code == 401, (why, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json"), why
        assert r.json()["code"] == "unauthenticated", why
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), why

    others = [s.value for s in Scope if s.value not in required and s is not Scope.ADMIN]
    r = await _send(objects, op, c, token(others, **_narrowing(c)))
    assert r.status_code == 403, ("wrong scope", r.status_code, r.text[:300])
    assert r.json()["code"] == "insufficient_scope"

    if c.channel:
        await _check_narrowed(objects, op, c, required, "channels", OTHER_CHANNEL)
    if c.location:
        await _check_narrowed(objects, op, c, required, "locations", OTHER_LOCATION)

    r = await _send(objects, op, c, token(required, **_narrowing(c)))
    assert 200 <= r.status_code < 300, ("right token", r.status_code, r.text[:500])
    if c.hidden:
        assert c.hidden in r.text, "the list shows its own channel's object"


async def _check_narrowed(
    o: Objects, op: Operation, c: Call, required: list[str], claim: str, other: str
) -> None:
    narrowing = _narrowing(c) | {claim: [other]}
    r = await _send(o, op, c, token(required, **narrowing))
    if c.hidden:
        assert r.status_code == 200, (claim, r.status_code, r.text[:300])
        assert c.hidden not in r.text, f"a list narrowed to another {claim} shows the object"
        return
    assert r.status_code == c.other_channel_status, (claim, r.status_code, r.text[:300])
    if r.status_code == 404:
        missing = await _send(o, op, _missing(c), token(required, **_narrowing(c)))
        assert missing.status_code == 404, missing.text[:300]
        assert _problem(r) == _problem(missing), "another's object is told from a missing one"


def _missing(c: Call) -> Call:
    """The same request for an object that does not exist (by default a fresh id in the path)."""
    parts = c.path.split("/")
    for i, part in enumerate(parts):
        if _is_uuid(part):
            parts[i] = str(uuid.uuid4())
    return Call(
        c.missing_path or "/".join(parts),
        json=c.missing_json if c.missing_json is not None else c.json,
        content=c.content,
        headers=c.headers,
        params=c.params,
    )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _problem(r: httpx.Response) -> tuple[Any, ...]:
    """What a 404 tells: its code and title, and its detail with the identifiers the request
    named taken out (a detail may echo the id asked for, never whose it is)."""
    body = r.json()
    detail = str(body.get("detail", ""))
    named = [p for p in r.request.url.path.split("/") if p]
    if r.request.content:
        named += [str(v) for v in json.loads(r.request.content).values() if isinstance(v, str)]
    for value in sorted(named, key=len, reverse=True):
        detail = detail.replace(value, "<x>")
    return r.status_code, body["code"], body["title"], detail


# Public by design: health probes, and self-service (proven by order number and e-mail).
PUBLIC_REQUESTS: dict[str, Call] = {
    "health-healthz": Call("/healthz"),
    "health-readyz": Call("/readyz"),
    "self-service-get-order": Call(
        "/v1/self-service/orders/OMS-99999999", params={"email": "nobody@example.com"}
    ),
    "self-service-cancel-order": Call(
        "/v1/self-service/orders/OMS-99999999/cancel", json={"email": "nobody@example.com"}
    ),
    "self-service-customer-open": Call(
        "/v1/self-service/returns",
        json={
            "order_number": "OMS-99999999",
            "email": "nobody@example.com",
            "lines": [{"line_id": str(uuid.uuid4()), "quantity": 1, "reason": "size_fit"}],
            "method": "mail",
            "resolution": {"type": "refund"},
        },
    ),
    "self-service-customer-list": Call(
        "/v1/self-service/returns",
        params={"order_number": "OMS-99999999", "email": "nobody@example.com"},
    ),
    "self-service-customer-label": Call(
        f"/v1/self-service/returns/{uuid.uuid4()}/label",
        params={"order_number": "OMS-99999999", "email": "nobody@example.com"},
    ),
}
PUBLIC = [
    pytest.param(op, id=f"{op.service}:{op.operation_id}")
    for op in contract_operations()
    if not op.scopes
]


@pytest.mark.parametrize("op", PUBLIC)
async def test_public_operations_answer_without_a_token(objects: Objects, op: Operation) -> None:
    r = await _send(objects, op, PUBLIC_REQUESTS[op.operation_id], None)
    assert r.status_code not in (401, 403), r.text[:300]
    assert r.status_code < 500, r.text[:300]
