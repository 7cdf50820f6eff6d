"""The webhook endpoints API on the real database: create (Idempotency-Key), list (keyset),
read, change, delete, rotate the secret, the deliveries; the refusals with their codes; the
scopes and the channel narrowing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from standardwebhooks import Webhook

from libs.auth.scopes import Scope
from libs.runtime import ServiceContainer
from services.notifications.domain import commands
from tests.notifications.integration.conftest import Client

V1 = "/v1/webhook-endpoints"


def body(**fields: Any) -> dict[str, Any]:
    return {
        "url": fields.pop("url", "https://hooks.example.com/oms"),
        "event_types": fields.pop("event_types", ["oms.order.*"]),
        **fields,
    }


async def created(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    r = await client.post(V1, json=body(**fields))
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


async def test_create_shows_the_secret_once_and_reads_never_do(client: httpx.AsyncClient) -> None:
    r = await client.post(V1, json=body(description="ERP feed", channels=["web"]))

    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["Location"] == f"{V1}/{made['id']}"
    assert r.headers["ETag"] == '"1"'
    assert made["secret"].startswith("whsec_")
    Webhook(made["secret"])  # the Standard Webhooks library takes it
    assert made["status"] == "active" and made["enabled"] is True
    assert made["channels"] == ["web"] and made["description"] == "ERP feed"
    assert made["secrets"][0]["hint"] == made["secret"][:10] + "…"

    read = await client.get(f"{V1}/{made['id']}")
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert made["secret"] not in read.text
    assert {k: v for k, v in made.items() if k != "secret"} == read.json()


async def test_the_same_idempotency_key_creates_one_endpoint(client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    wanted = body(description=f"once-{uuid.uuid4().hex[:6]}")

    answers = await asyncio.gather(*(client.post(V1, json=wanted, headers=key) for _ in range(5)))

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    other = await client.post(V1, json=body(description="another"), headers=key)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


async def test_refusals_are_problems_with_stable_codes(client: httpx.AsyncClient) -> None:
    cases = {
        "insecure_webhook_url": body(url="http://hooks.example.com/oms"),  # ENV=test: allowed
        "private_webhook_target": body(url="https://169.254.169.254/latest/meta-data/"),
        "invalid_webhook_url": body(url="https://user:pw@hooks.example.com/"),
        "unknown_event_type": body(event_types=["oms.order.shipped", "oms.order.*"]),
        "invalid_webhook_secret": body(secret="whsec_c2hvcnQ="),
        "validation_error": body(event_types=[]),
    }
    found = {}
    for code, wanted in cases.items():
        r = await client.post(V1, json=wanted)
        found[code] = (r.status_code, r.headers["content-type"], r.json().get("code"))

    assert found.pop("insecure_webhook_url")[0] == 201  # http is allowed in the test ENV
    assert found == {code: (422, "application/problem+json", code) for code in found}
    r = await client.post(V1, json=body(event_types=["oms.nothing.*"]))
    assert r.json()["extensions"]["unknown"] == ["oms.nothing.*"]


async def test_list_pages_newest_first_with_a_cursor(client: httpx.AsyncClient) -> None:
    mark = uuid.uuid4().hex[:8]
    made = [(await created(client, description=f"{mark}-{n}"))["id"] for n in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(V1, params=params)).json()
        seen.extend(e["id"] for e in page["items"] if e["description"].startswith(mark))
        cursor = page["next_cursor"]
        if cursor is None or len(seen) == len(made):
            break

    assert seen == list(reversed(made))
    bad = await client.get(V1, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


async def test_patch_changes_only_what_it_sends_and_honours_if_match(
    client: httpx.AsyncClient,
) -> None:
    made = await created(client, channels=["web"], description="before")
    url = f"{V1}/{made['id']}"

    r = await client.patch(url, json={"event_types": ["*"], "enabled": False})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    after = r.json()
    assert (after["event_types"], after["enabled"], after["version"]) == (["*"], False, 2)
    assert (after["channels"], after["description"], after["url"]) == (
        ["web"],
        "before",
        made["url"],
    )

    removed = await client.patch(url, json={"channels": None}, headers={"If-Match": '"2"'})
    assert removed.status_code == 200 and removed.json()["channels"] is None
    stale = await client.patch(url, json={"description": "x"}, headers={"If-Match": '"2"'})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    private = await client.patch(url, json={"url": "https://[::1]/hook"})
    assert private.status_code == 422 and private.json()["code"] == "private_webhook_target"


async def test_delete_removes_the_endpoint(client: httpx.AsyncClient) -> None:
    made = await created(client)

    assert (await client.delete(f"{V1}/{made['id']}")).status_code == 204
    gone = await client.get(f"{V1}/{made['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == "webhook_endpoint_not_found"
    assert (await client.delete(f"{V1}/{made['id']}")).status_code == 404


async def test_rotate_secret_returns_the_new_one_and_keeps_the_old_for_the_overlap(
    client: httpx.AsyncClient,
) -> None:
    made = await created(client)
    url = f"{V1}/{made['id']}/rotate-secret"

    r = await client.post(url)
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    current, previous = rotated["secrets"]
    assert current["expires_at"] is None
    assert previous["hint"] == made["secret"][:10] + "…"
    assert previous["expires_at"] is not None  # 24 h from now by default
    assert r.headers["ETag"] == f'"{rotated["version"]}"'

    ended = (await client.post(url, json={"overlap_seconds": 0})).json()
    # The one just replaced ends at once; the first keeps the expiry it had.
    assert [s["hint"] for s in ended["secrets"]] == [
        ended["secret"][:10] + "…",
        previous["hint"],
    ]
    bad = await client.post(url, json={"secret": "whsec_x"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_webhook_secret"


async def test_deliveries_list_the_events_that_matched(
    client: httpx.AsyncClient, container: ServiceContainer
) -> None:
    made = await created(client, event_types=["oms.returns.*"])
    order_id = uuid.uuid4()
    event_ids = [str(uuid.uuid4()) for _ in range(3)]
    for event_id in event_ids:
        await container.bus.handle(
            commands.RecordEvent(
                event_id=event_id,
                event_type="oms.returns.approved",
                occurred_at=__import__("datetime").datetime.now(__import__("datetime").UTC),
                key=str(order_id),
                order_id=order_id,
                channel=None,
                cloud_event={"id": event_id, "type": "oms.returns.approved", "data": {}},
            )
        )

    first = (await client.get(f"{V1}/{made['id']}/deliveries", params={"limit": 2})).json()
    rest = (
        await client.get(f"{V1}/{made['id']}/deliveries", params={"cursor": first["next_cursor"]})
    ).json()

    items = first["items"] + rest["items"]
    assert [d["webhook_id"] for d in items] == list(reversed(event_ids))
    assert {(d["status"], d["attempts"], d["order_id"]) for d in items} == {
        ("pending", 0, str(order_id))
    }
    assert rest["next_cursor"] is None


async def test_scopes_webhooks_read_and_write(clients: Client) -> None:
    admin = clients()
    made = await created(admin)
    reader = clients(scopes=[Scope.WEBHOOKS_READ])
    writer = clients(scopes=[Scope.WEBHOOKS_WRITE])
    orders = clients(scopes=[Scope.ORDERS_READ, Scope.ORDERS_WRITE])

    assert (await reader.get(f"{V1}/{made['id']}")).status_code == 200
    assert (await reader.post(V1, json=body())).status_code == 403
    assert (await writer.post(V1, json=body())).status_code == 201
    assert (await writer.get(V1)).status_code == 403
    denied = await orders.get(V1)
    assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope"
    anonymous = await admin.get(V1, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"


async def test_a_channel_narrowed_token_sees_and_makes_only_its_channels_endpoints(
    clients: Client,
) -> None:
    admin = clients()
    web = await created(admin, channels=["web"])
    both = await created(admin, channels=["web", "app"])
    unfiltered = await created(admin)
    narrowed = clients(scopes=[Scope.WEBHOOKS_READ, Scope.WEBHOOKS_WRITE], channels=["web"])

    listed: set[str] = set()
    cursor: str | None = None
    while True:
        page = (await narrowed.get(V1, params={"cursor": cursor} if cursor else {})).json()
        listed |= {e["id"] for e in page["items"]}
        assert all(e["channels"] and set(e["channels"]) <= {"web"} for e in page["items"])
        if not (cursor := page["next_cursor"]):
            break
    assert web["id"] in listed
    assert not {both["id"], unfiltered["id"]} & listed

    for other in (both, unfiltered):
        r = await narrowed.get(f"{V1}/{other['id']}")
        assert r.status_code == 404 and r.json()["code"] == "webhook_endpoint_not_found"
        assert (await narrowed.delete(f"{V1}/{other['id']}")).status_code == 404
        assert (await narrowed.post(f"{V1}/{other['id']}/rotate-secret")).status_code == 404
    assert (await narrowed.patch(f"{V1}/{web['id']}", json={"description": "x"})).status_code == 200

    for wanted in (body(), body(channels=["web", "app"])):
        r = await narrowed.post(V1, json=wanted)
        assert r.status_code == 403 and r.json()["code"] == "channel_not_allowed"
    widen = await narrowed.patch(f"{V1}/{web['id']}", json={"channels": None})
    assert widen.status_code == 403
    assert (await narrowed.post(V1, json=body(channels=["web"]))).status_code == 201
