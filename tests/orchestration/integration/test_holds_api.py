"""Holding and releasing an order over the API, against the real database: the saga's state,
the events written with it (and their audit rows), GET /v1/holds, the 409s, narrowing and
Idempotency-Key replays."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from libs.auth.scopes import Scope
from libs.http.pagination import encode_cursor
from libs.ids import new_id
from libs.runtime import ServiceContainer
from services.orchestration.adapters.metrics import UNDER_WAY
from services.orchestration.adapters.repository import SagaRepository
from services.orchestration.adapters.tables import plumbing
from services.orchestration.domain.saga import HoldReason, OrderSaga
from tests.orchestration.integration.conftest import app_for, order_snapshot
from tests.support.metrics import parse, value
from tests.support.tokens import admin_headers, bearer, token


async def placed(container: ServiceContainer, channel: str = "web") -> UUID:
    """A saga waiting to be routed (no worker runs here, so it stays that way), with a
    time-ordered id like order-capture's."""
    order_id = new_id()
    saga = OrderSaga.start(order_id, order_snapshot(channel), datetime.now(UTC))
    async with container.session_factory() as session:
        repo = SagaRepository(session)
        repo.add(saga)
        await repo.flush()
        await session.commit()
    return order_id


async def event_types(container: ServiceContainer, order_id: UUID) -> list[str]:
    outbox = plumbing.outbox
    async with container.session_factory() as s:
        rows = await s.scalars(
            select(outbox.c.event_type).where(outbox.c.key == str(order_id)).order_by(outbox.c.id)
        )
        return list(rows)


async def test_hold_then_release_round_trips_with_both_events(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    order_id = await placed(container)

    held = await client.post(f"/v1/orders/{order_id}/hold", json={"note": "call the customer"})
    assert held.status_code == 200, held.text
    body = held.json()
    assert body["state"] == "on_hold"
    assert body["hold"]["reason"] == "manual"
    assert body["hold"]["detail"] == "call the customer"
    assert any(str(order_id) in way for way in body["hold"]["ways_out"])

    released = await client.post(f"/v1/orders/{order_id}/release", json={"note": "called"})
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "routing"
    assert released.json()["hold"] is None

    assert await event_types(container, order_id) == [
        "oms.orchestration.order_on_hold",
        "oms.orchestration.order_hold_released",
    ]
    steps = [s["name"] for s in released.json()["steps"]]
    assert steps[-2:] == ["hold_released", "routing"]


async def test_holds_lists_held_orders_by_reason_and_channel(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    channel = f"shop-{uuid4().hex[:6]}"
    first, second, _unheld = [await placed(container, channel) for _ in range(3)]
    for order_id in (first, second):
        assert (await client.post(f"/v1/orders/{order_id}/hold")).status_code == 200

    page = await client.get("/v1/holds", params={"channel": channel, "limit": 1})
    assert page.status_code == 200
    assert [h["order_id"] for h in page.json()["items"]] == [str(first)]
    rest = await client.get(
        "/v1/holds", params={"channel": channel, "cursor": page.json()["next_cursor"]}
    )
    assert [h["order_id"] for h in rest.json()["items"]] == [str(second)]
    assert rest.json()["items"][0]["channel"] == channel
    assert rest.json()["items"][0]["reason"] == "manual"

    other = await client.get("/v1/holds", params={"channel": channel, "reason": "review"})
    assert other.json()["items"] == []
    bad = await client.get("/v1/holds", params={"reason": "bored"})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("/v1/holds", [42]),  # a number where the order id belongs
        ("/v1/holds", ["not-a-uuid"]),
        ("/v1/sagas", [1733385600, 42]),  # numbers for the date-time and the id
        ("/v1/fulfillments", ["2026-12-05T07:30:00+00:00", 42]),
    ],
)
async def test_a_list_cursor_with_values_of_the_wrong_type_is_422(
    client: httpx.AsyncClient, path: str, values: list[Any]
) -> None:
    # Decodable (base64 JSON of the list's length), yet not a cursor this list issued.
    r = await client.get(path, params={"cursor": encode_cursor(values)})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_cursor"


async def test_out_of_turn_holds_and_releases_are_409_with_stable_codes(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    order_id = await placed(container)

    not_held = await client.post(f"/v1/orders/{order_id}/release")
    assert not_held.status_code == 409
    assert not_held.json()["code"] == "not_on_hold"

    assert (await client.post(f"/v1/orders/{order_id}/hold")).status_code == 200
    again = await client.post(f"/v1/orders/{order_id}/hold")
    assert again.status_code == 409
    assert again.json()["code"] == "hold_not_possible"
    assert again.json()["extensions"] == {"hold_refused_because": "already_on_hold"}
    assert await event_types(container, order_id) == ["oms.orchestration.order_on_hold"]


async def test_a_retry_with_the_same_idempotency_key_answers_without_a_second_effect(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    order_id = await placed(container)
    key = {"Idempotency-Key": f"hold-{order_id}"}

    first = await client.post(f"/v1/orders/{order_id}/hold", headers=key)
    retry = await client.post(f"/v1/orders/{order_id}/hold", headers=key)

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json()["hold"] == first.json()["hold"]
    assert await event_types(container, order_id) == ["oms.orchestration.order_on_hold"]


async def test_a_hold_counts_on_metrics_once_by_reason_and_its_saga_by_state(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    def held() -> float:
        return REGISTRY.get_sample_value("oms_orders_held_total", {"reason": "manual"}) or 0.0

    order_id = await placed(container)
    before = held()
    key = {"Idempotency-Key": f"hold-metered-{order_id}"}
    assert (await client.post(f"/v1/orders/{order_id}/hold", headers=key)).status_code == 200
    assert (await client.post(f"/v1/orders/{order_id}/hold", headers=key)).status_code == 200
    assert held() == before + 1  # a replayed key holds nothing

    scraped = await client.get("/metrics")
    assert scraped.status_code == 200, scraped.text
    samples = parse(scraped.text)
    assert value(samples, "oms_sagas_query_success") == 1
    assert {dict(labels)["state"] for name, labels in samples if name == "oms_sagas"} == set(
        UNDER_WAY
    )
    on_hold = value(samples, "oms_sagas", state="on_hold")
    assert on_hold is not None and on_hold >= 1
    unchanged = value(samples, "oms_saga_oldest_unchanged_seconds", state="on_hold")
    assert unchanged is not None and unchanged >= 0


async def test_holding_needs_orders_write_and_the_orders_channel(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    order_id = await placed(container, "web")
    reader = bearer(token([Scope.ORDERS_READ]))
    elsewhere = bearer(token([Scope.ORDERS_WRITE, Scope.ORDERS_READ], channels=["store"]))

    forbidden = await client.post(f"/v1/orders/{order_id}/hold", headers=reader)
    hidden = await client.post(f"/v1/orders/{order_id}/hold", headers=elsewhere)

    assert forbidden.status_code == 403
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "saga_not_found"
    assert await event_types(container, order_id) == []


async def test_a_hold_writes_its_audit_row_with_the_caller(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    order_id = await placed(container)
    assert (await client.post(f"/v1/orders/{order_id}/hold")).status_code == 200

    audit = await client.get("/v1/audit", params={"resource": f"order:{order_id}"})

    assert audit.status_code == 200
    (entry,) = audit.json()["items"]
    assert entry["event_type"] == "oms.orchestration.order_on_hold"
    assert entry["actor"] == "test-admin"
    assert entry["operation"] == f"POST /v1/orders/{order_id}/hold"


async def test_a_payment_token_with_a_nul_character_is_422_and_changes_nothing(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    order_id = new_id()
    now = datetime.now(UTC)
    saga = OrderSaga.start(order_id, order_snapshot("web"), now)
    saga.put_on_hold(HoldReason.PAYMENT_DECLINED, "payment declined: card_declined", now)
    async with container.session_factory() as session:
        repo = SagaRepository(session)
        repo.add(saga)
        await repo.flush()
        await session.commit()

    # The answer comes from the app's last-resort handler, which re-raises after answering
    # (so a server logs it): only the answer is looked at here.
    transport = httpx.ASGITransport(app=app_for(container), raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=admin_headers()
    ) as http:
        r = await http.post(f"/v1/orders/{order_id}/payment", json={"token": "tok_\u0000"})

    assert (r.status_code, r.json()["code"]) == (422, "invalid_text")
    still = await client.get(f"/v1/sagas/{order_id}")
    assert (still.json()["state"], still.json()["hold"]["reason"]) == (
        "on_hold",
        "payment_declined",
    )


async def held(container: ServiceContainer, channel: str, reason: HoldReason) -> UUID:
    """A placed saga put on hold straight away (as the review rules would for `review`)."""
    order_id = new_id()
    now = datetime.now(UTC)
    saga = OrderSaga.start(order_id, order_snapshot(channel), now)
    saga.put_on_hold(reason, f"held for {reason.value}", now)
    async with container.session_factory() as session:
        repo = SagaRepository(session)
        repo.add(saga)
        await repo.flush()
        await session.commit()
    return order_id


async def test_an_operator_acts_on_its_channels_holds_and_never_on_anothers(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    mine, other = f"a-{uuid4().hex[:6]}", f"b-{uuid4().hex[:6]}"
    operator = bearer(token([Scope.ORDERS_READ, Scope.ORDERS_WRITE], channels=[mine]))
    orders: dict[tuple[str, str], UUID] = {
        (channel, reason): await held(container, channel, reason)
        for channel in (mine, other)
        for reason in (HoldReason.MANUAL, HoldReason.REVIEW)
    }
    orders[(mine, "reject")] = await held(container, mine, HoldReason.REVIEW)
    orders[(other, "reject")] = await held(container, other, HoldReason.REVIEW)

    listed = await client.get("/v1/holds", params={"limit": 200}, headers=operator)
    items = {h["order_id"]: h for h in listed.json()["items"]}
    assert set(items) == {str(orders[key]) for key in orders if key[0] == mine}
    first = items[str(orders[(mine, HoldReason.MANUAL)])]
    assert (first["channel"], first["reason"], first["detail"]) == (
        mine,
        "manual",
        "held for manual",
    )
    assert first["order_number"] and first["since"]

    actions = (
        (HoldReason.MANUAL, "release", None),
        (HoldReason.REVIEW, "approve", None),
        ("reject", "reject", {"reason": "card holder unreachable"}),
    )
    for key, action, body in actions:
        url = f"/v1/orders/{orders[(other, key)]}/{action}"
        refused = await client.post(url, json=body, headers=operator)
        assert (refused.status_code, refused.json()["code"]) == (404, "saga_not_found"), action
        still = await client.get(f"/v1/sagas/{orders[(other, key)]}")
        assert still.json()["state"] == "on_hold"
        done = await client.post(
            f"/v1/orders/{orders[(mine, key)]}/{action}", json=body, headers=operator
        )
        assert done.status_code == 200, (action, done.text)
        assert done.json()["state"] != "on_hold"


async def test_the_saga_list_tells_the_channel_what_it_waits_for_and_since_when(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    mine, other = f"a-{uuid4().hex[:6]}", f"b-{uuid4().hex[:6]}"
    routing, stopped, elsewhere = (
        await placed(container, mine),
        await held(container, mine, HoldReason.MANUAL),
        await placed(container, other),
    )
    released = await client.post(f"/v1/orders/{stopped}/release")
    assert released.status_code == 200, released.text
    release_step = released.json()["steps"][-1]
    assert release_step["name"] == "routing"

    narrowed = bearer(token([Scope.ORDERS_READ], channels=[mine]))
    listed = await client.get(
        "/v1/sagas", params={"state": "routing", "limit": 200}, headers=narrowed
    )
    items = {s["order_id"]: s for s in listed.json()["items"]}
    assert str(elsewhere) not in items and {str(routing), str(stopped)} <= set(items)
    assert all(s["channel"] == mine for s in items.values())
    fresh, again = items[str(routing)], items[str(stopped)]
    assert (fresh["waiting_for"], fresh["state_since"]) == ("routing", fresh["started_at"])
    # Released, it entered routing again: its age in the state counts from then.
    assert again["state_since"] == release_step["at"] and again["state_since"] > again["started_at"]
    one = (await client.get(f"/v1/sagas/{stopped}", headers=narrowed)).json()
    assert (one["channel"], one["state_since"], one["waiting_for"]) == (
        mine,
        release_step["at"],
        "routing",
    )
    on_hold = await held(container, mine, HoldReason.MANUAL)
    (item,) = (
        await client.get("/v1/sagas", params={"state": "on_hold", "limit": 200}, headers=narrowed)
    ).json()["items"]
    assert (item["order_id"], item["waiting_for"]) == (str(on_hold), "release")
