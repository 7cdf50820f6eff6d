"""The delivery ledger's API on the real database, with the real delivery worker and a real
receiver over HTTP: a delivery read with every attempt, a failed one sent again until it is
delivered, a replay since a time (exactly the deliveries made after it, in their order), a test
ping signed as Standard Webhooks says, and the refusals with their codes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from libs.auth.scopes import Scope
from libs.runtime import ServiceContainer
from services.notifications.bootstrap import bootstrap
from services.notifications.config import NotificationsSettings
from services.notifications.domain import commands
from services.notifications.service_layer.handlers.deliveries import DeliveryWorker
from tests.notifications.integration.conftest import Client
from tests.notifications.integration.test_delivery_worker import (
    endpoint,
    record,
    send_until,
    worker_with,
)
from tests.support.webhooks import serving
from tools.webhook_receiver import Receiver

V1 = "/v1/webhook-endpoints"
# Receivers on this machine; no retry window, so a delivery whose attempt fails has failed
# for good at once (what a retry is for), and a retry that succeeds delivers it.
SETTINGS = NotificationsSettings(
    WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
    WEBHOOK_RETRY_WINDOW_S=0,
    WEBHOOK_RETRY_FLOOR_S=0,
    WEBHOOK_TIMEOUT_S=2,
)


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap(SETTINGS)
    yield c
    await c.engine.dispose()


@pytest.fixture
async def worker(container: ServiceContainer) -> AsyncIterator[DeliveryWorker]:
    async with worker_with(container, SETTINGS.WEBHOOK_TIMEOUT_S) as made:
        yield made


async def deliveries(client: httpx.AsyncClient, endpoint_id: str) -> list[dict[str, Any]]:
    """The endpoint's deliveries, oldest first."""
    r = await client.get(f"{V1}/{endpoint_id}/deliveries", params={"limit": 200})
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["items"]))


async def delivery(client: httpx.AsyncClient, delivery_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/deliveries/{delivery_id}")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def test_a_failed_delivery_retried_is_delivered_with_both_attempts_in_the_ledger(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    receiver = Receiver(status=500)
    async with serving(receiver) as served:
        created = await endpoint(client, served.url)
        order_id = uuid.uuid4()
        (event_id,) = await record(container, order_id)
        ((made,),) = [await deliveries(client, created["id"])]

        async def failed() -> bool:
            return bool((await delivery(client, made["id"]))["status"] == "failed")

        await send_until(worker, failed, "the delivery failed for good")
        receiver.status = 200
        r = await client.post(
            f"/v1/deliveries/{made['id']}/retry", headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert r.status_code == 202, r.text
        queued = r.json()
        assert (queued["status"], queued["attempts"], len(queued["attempt_log"])) == (
            "pending",
            1,
            1,
        )

        async def delivered() -> bool:
            return bool((await delivery(client, made["id"]))["status"] == "delivered")

        await send_until(worker, delivered, "the retried delivery delivered")

    assert [got.webhook_id for got in receiver.received] == [event_id, event_id]
    assert [got.status for got in receiver.received] == [500, 200]
    found = await delivery(client, made["id"])
    assert found["id"] == made["id"] and found["webhook_id"] == event_id
    assert (found["endpoint_id"], found["order_id"]) == (created["id"], str(order_id))
    assert (found["event_type"], found["attempts"], found["next_attempt_at"]) == (
        "oms.order.status_changed",
        2,
        None,
    )
    first, second = found["attempt_log"]
    assert (first["number"], first["status_code"], first["error"]) == (1, 500, "answered 500")
    assert (second["number"], second["status_code"], second["error"]) == (2, 200, None)
    assert first["started_at"] < second["started_at"]
    assert all(a["latency_ms"] >= 0 and a["response_excerpt"] == "" for a in (first, second))


async def test_an_attempt_without_an_answer_is_in_the_ledger_with_its_error(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    # Port 9 (discard) has nothing listening here: the connection is refused.
    created = await endpoint(client, "http://127.0.0.1:9/refused")
    await record(container, uuid.uuid4())
    ((made,),) = [await deliveries(client, created["id"])]

    async def attempted() -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = (await delivery(client, made["id"]))["attempt_log"]
        return log

    await send_until(worker, attempted, "the refused attempt")

    (attempt,) = await attempted()
    assert attempt["status_code"] is None and attempt["response_excerpt"] is None
    assert attempt["error"].startswith("could not send: ConnectError")


async def test_a_replay_sends_again_exactly_the_deliveries_made_since_in_their_order(
    container: ServiceContainer, client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    receiver = Receiver()
    async with serving(receiver) as served:
        created = await endpoint(client, served.url)
        order_id = uuid.uuid4()
        before = await record(container, order_id, 2)
        since = datetime.now(UTC)
        after = await record(container, order_id, 3)
        await send_until(
            worker, lambda: len(receiver.received) == 5, "the five deliveries the first time"
        )
        receiver.received.clear()

        key = {"Idempotency-Key": str(uuid.uuid4())}
        url = f"{V1}/{created['id']}/replay"
        r = await client.post(url, params={"since": since.isoformat()}, headers=key)
        assert r.status_code == 202, r.text
        assert r.json() == {"requeued": 3}
        again = await client.post(url, params={"since": since.isoformat()}, headers=key)
        assert again.status_code == 202 and again.json() == {"requeued": 3}  # nothing more

        await send_until(worker, lambda: len(receiver.received) >= 3, "the replayed deliveries")
        await worker.settle()

    assert [got.webhook_id for got in receiver.received] == after
    ledger = await deliveries(client, created["id"])
    assert [d["webhook_id"] for d in ledger] == before + after
    assert [(d["status"], d["attempts"]) for d in ledger] == [("delivered", 1)] * 2 + [
        ("delivered", 2)
    ] * 3


async def test_a_ping_reaches_the_receiver_signed_whatever_the_endpoint_subscribes_to(
    client: httpx.AsyncClient, worker: DeliveryWorker
) -> None:
    receiver = Receiver()
    async with serving(receiver) as served:
        created = await endpoint(client, served.url)  # oms.order.* only
        receiver.secrets = [created["secret"]]

        r = await client.post(f"{V1}/{created['id']}/test")
        assert r.status_code == 202, r.text
        ping = r.json()
        assert r.headers["Location"] == f"/v1/deliveries/{ping['id']}"
        assert (ping["event_type"], ping["status"], ping["order_id"]) == (
            "oms.webhook.ping",
            "pending",
            None,
        )

        await send_until(worker, lambda: receiver.received, "the ping at the receiver")

    (got,) = receiver.received
    assert got.verified is True and got.status == 204
    assert got.webhook_id == ping["webhook_id"]
    event = got.event
    assert {k: event[k] for k in ("specversion", "id", "source", "type")} == {
        "specversion": "1.0",
        "id": ping["webhook_id"],
        "source": "/oms/notifications",
        "type": "oms.webhook.ping",
    }
    assert event["data"] == {"endpoint_id": created["id"]}
    assert datetime.fromisoformat(event["time"]) <= datetime.now(UTC)
    found = await delivery(client, ping["id"])
    assert found["status"] == "delivered" and found["attempt_log"][0]["status_code"] == 204


async def test_the_same_idempotency_key_pings_once(client: httpx.AsyncClient) -> None:
    created = await endpoint(client, "https://hooks.example.com/oms")
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = await client.post(f"{V1}/{created['id']}/test", headers=key)
    second = await client.post(f"{V1}/{created['id']}/test", headers=key)

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert len(await deliveries(client, created["id"])) == 1


async def test_unknown_and_unseen_deliveries_are_404(
    container: ServiceContainer, clients: Client
) -> None:
    admin = clients()
    unfiltered = await endpoint(admin, "https://hooks.example.com/oms")
    await record(container, uuid.uuid4())
    ((made,),) = [await deliveries(admin, unfiltered["id"])]
    narrowed = clients(scopes=[Scope.WEBHOOKS_READ, Scope.WEBHOOKS_WRITE], channels=["web"])

    for caller, delivery_id in ((admin, uuid.uuid4()), (narrowed, made["id"])):
        for r in (
            await caller.get(f"/v1/deliveries/{delivery_id}"),
            await caller.post(f"/v1/deliveries/{delivery_id}/retry"),
        ):
            assert r.status_code == 404, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["code"] == "webhook_delivery_not_found"
    for caller, endpoint_id in ((admin, uuid.uuid4()), (narrowed, unfiltered["id"])):
        for r in (
            await caller.post(f"{V1}/{endpoint_id}/test"),
            await caller.post(f"{V1}/{endpoint_id}/replay", params={"since": "2026-01-01T00:00Z"}),
        ):
            # An unparseable since on a missing endpoint: the endpoint is answered first.
            assert r.status_code == 404 and r.json()["code"] == "webhook_endpoint_not_found"


async def test_a_narrowed_token_reaches_its_own_endpoints_deliveries(
    container: ServiceContainer, clients: Client
) -> None:
    narrowed = clients(scopes=[Scope.WEBHOOKS_READ, Scope.WEBHOOKS_WRITE], channels=["web"])
    r = await narrowed.post(
        V1,
        json={
            "url": "https://hooks.example.com/web",
            "event_types": ["oms.order.*"],
            "channels": ["web"],
        },
    )
    assert r.status_code == 201, r.text
    web = r.json()
    await record(container, uuid.uuid4())  # an event of a web order

    ((made,),) = [await deliveries(narrowed, web["id"])]
    assert (await narrowed.get(f"/v1/deliveries/{made['id']}")).status_code == 200
    assert (await narrowed.post(f"/v1/deliveries/{made['id']}/retry")).status_code == 202


async def test_a_replay_needs_a_past_rfc_3339_since(client: httpx.AsyncClient) -> None:
    created = await endpoint(client, "https://hooks.example.com/oms")
    url = f"{V1}/{created['id']}/replay"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    missing = await client.post(url)
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"
    for since in ("yesterday", "2026-12-05T10:00:00", "1764928800", future):
        r = await client.post(url, params={"since": since})
        assert r.status_code == 422, since
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "invalid_replay_since", since


async def test_a_disabled_endpoint_is_409_for_a_retry_a_replay_and_a_ping(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    created = await endpoint(client, "https://hooks.example.com/oms")
    await record(container, uuid.uuid4())
    ((made,),) = [await deliveries(client, created["id"])]
    off = await client.patch(f"{V1}/{created['id']}", json={"enabled": False})
    assert off.status_code == 200, off.text

    for r in (
        await client.post(f"/v1/deliveries/{made['id']}/retry"),
        await client.post(f"{V1}/{created['id']}/replay", params={"since": "2026-01-01T00:00:00Z"}),
        await client.post(f"{V1}/{created['id']}/test"),
    ):
        assert r.status_code == 409, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "webhook_endpoint_disabled"
    assert (await delivery(client, made["id"]))["status"] == "pending"
    assert len(await deliveries(client, created["id"])) == 1  # no ping was made


async def test_reads_need_webhooks_read_and_the_actions_webhooks_write(clients: Client) -> None:
    admin = clients()
    created = await endpoint(admin, "https://hooks.example.com/oms")
    ping = (await admin.post(f"{V1}/{created['id']}/test")).json()
    reader = clients(scopes=[Scope.WEBHOOKS_READ])
    writer = clients(scopes=[Scope.WEBHOOKS_WRITE])

    assert (await reader.get(f"/v1/deliveries/{ping['id']}")).status_code == 200
    assert (await writer.get(f"/v1/deliveries/{ping['id']}")).status_code == 403
    for action in (
        f"/v1/deliveries/{ping['id']}/retry",
        f"{V1}/{created['id']}/test",
    ):
        denied = await reader.post(action)
        assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope"
        assert (await writer.post(action)).status_code == 202
    since = {"since": "2026-01-01T00:00:00Z"}
    assert (await reader.post(f"{V1}/{created['id']}/replay", params=since)).status_code == 403
    assert (await writer.post(f"{V1}/{created['id']}/replay", params=since)).status_code == 202


async def order_event(container: ServiceContainer, order_id: uuid.UUID, channel: str) -> str:
    """The order's placement as the consumer would record it (it says the order's channel)."""
    event_id = str(uuid.uuid4())
    await container.bus.handle(
        commands.RecordEvent(
            event_id=event_id,
            event_type="oms.order.placed",
            occurred_at=datetime.now(UTC),
            key=str(order_id),
            order_id=order_id,
            channel=channel,
            cloud_event={"id": event_id, "type": "oms.order.placed", "subject": str(order_id)},
        )
    )
    return event_id


async def test_an_orders_deliveries_are_listed_with_their_last_attempt_for_its_channel_only(
    container: ServiceContainer, clients: Client, worker: DeliveryWorker
) -> None:
    admin = clients()
    web_reader = clients(scopes=[Scope.WEBHOOKS_READ], channels=["web"])
    async with serving(Receiver()) as served:
        made = {}
        for name, channels in (("all", None), ("web", ["web"]), ("pos", ["pos"])):
            r = await admin.post(
                V1, json={"url": served.url, "event_types": ["oms.order.*"], "channels": channels}
            )
            assert r.status_code == 201, r.text
            made[name] = r.json()["id"]
        web_order, pos_order = uuid.uuid4(), uuid.uuid4()
        web_event = await order_event(container, web_order, "web")
        await order_event(container, pos_order, "pos")

        async def listed(caller: httpx.AsyncClient, order_id: uuid.UUID) -> list[dict[str, Any]]:
            r = await caller.get("/v1/deliveries", params={"order_id": str(order_id)})
            assert r.status_code == 200, r.text
            items: list[dict[str, Any]] = r.json()["items"]
            assert {item["order_id"] for item in items} <= {str(order_id)}
            return items

        async def all_delivered() -> bool:
            mine = [d for d in await listed(admin, web_order) if d["endpoint_id"] in made.values()]
            return len(mine) == 2 and all(d["status"] == "delivered" for d in mine)

        await send_until(worker, all_delivered, "the web order's deliveries delivered")

    by_endpoint = {d["endpoint_id"]: d for d in await listed(admin, web_order)}
    assert made["all"] in by_endpoint and made["pos"] not in by_endpoint
    sent = by_endpoint[made["web"]]
    assert (sent["webhook_id"], sent["event_type"], sent["status"], sent["attempts"]) == (
        web_event,
        "oms.order.placed",
        "delivered",
        1,
    )
    assert (sent["last_status_code"], sent["last_error"], sent["next_attempt_at"]) == (
        204,  # the receiver answers 204 No Content
        None,
        None,
    )
    assert sent["last_attempt_at"] >= sent["created_at"]
    assert {d["endpoint_id"] for d in await listed(admin, pos_order)} >= {made["all"], made["pos"]}
    # Narrowed to web: the web order's deliveries to the endpoints it sees, never the pos order's.
    seen = {d["endpoint_id"] for d in await listed(web_reader, web_order)}
    assert made["web"] in seen and made["all"] not in seen
    assert await listed(web_reader, pos_order) == []
    assert await listed(admin, uuid.uuid4()) == []
    first = await admin.get("/v1/deliveries", params={"order_id": str(web_order), "limit": 1})
    second = await admin.get(
        "/v1/deliveries",
        params={"order_id": str(web_order), "limit": 1, "cursor": first.json()["next_cursor"]},
    )
    assert first.json()["items"][0]["id"] != second.json()["items"][0]["id"]
    missing = await admin.get("/v1/deliveries")
    assert (missing.status_code, missing.json()["code"]) == (422, "validation_error")
    no_scope = clients(scopes=[Scope.WEBHOOKS_WRITE])
    denied = await no_scope.get("/v1/deliveries", params={"order_id": str(web_order)})
    assert (denied.status_code, denied.json()["code"]) == (403, "insufficient_scope")
