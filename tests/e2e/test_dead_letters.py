"""A record the services' consumers give up on is listed by insights with their error, and an
operator re-drives it: back on its topic as it was, marked redriven (the Exceptions page)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from libs.auth.scopes import Scope
from tests.e2e.conftest import Stack
from tests.support.environment import TOPIC_PREFIX
from tests.support.kafka import forge_broken_event, read_topic
from tests.support.polling import eventually
from tests.support.tokens import bearer, token

ORDER_EVENTS = "oms.order.events"


async def test_a_dead_letter_is_listed_with_its_error_and_redriven(
    stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
) -> None:
    marker = f"dead-{uuid.uuid4()}"
    letters = urls["insights"] + "/v1/dead-letters"
    await forge_broken_event(marker, ORDER_EVENTS)

    async def listed(status: str = "pending") -> list[dict[str, Any]]:
        r = await http.get(letters, params={"topic": ORDER_EVENTS, "status": status, "limit": 200})
        assert r.status_code == 200, r.text
        return [item for item in r.json()["items"] if item["key"] == marker]

    found = await eventually(
        listed,
        until=lambda items: "orchestration" in {i["consumer"] for i in items},
        timeout=45,
        what="orchestration's dead letter listed by insights",
    )
    letter = next(i for i in found if i["consumer"] == "orchestration")
    assert (letter["event_id"], letter["event_type"]) == (marker, "oms.order.placed")
    # The error is the one the consumer put on the dead-letter record.
    dlq_errors = {
        dict(r.headers)["dlq-error"].decode()
        for r in await read_topic(ORDER_EVENTS + ".dlq")
        if r.key == marker.encode() and dict(r.headers)["dlq-consumer"] == b"orchestration"
    }
    assert letter["error"] and letter["error"] in dlq_errors

    # Not an admin, or an admin narrowed to a channel: refused, and nothing moves.
    url = f"{letters}/{letter['id']}"
    for headers, code in (
        (bearer(token([Scope.ORDERS_READ, Scope.ORDERS_WRITE])), "insufficient_scope"),
        (bearer(token([Scope.ADMIN], channels=["web"])), "dead_letters_need_unnarrowed_token"),
    ):
        for method, target in (("GET", letters), ("GET", url), ("POST", url + "/redrive")):
            r = await http.request(method, target, headers=headers)
            assert (r.status_code, r.json()["code"]) == (403, code), (method, target)

    redriven = await http.post(url + "/redrive", headers={"Idempotency-Key": marker})
    assert redriven.status_code == 200, redriven.text
    assert redriven.json()["status"] == "redriven" and redriven.json()["redrive_count"] == 1
    assert (await http.get(url)).json()["status"] == "redriven"

    # Back on the topic it came from, as it was, saying where from.
    source = f"{TOPIC_PREFIX}{ORDER_EVENTS}.dlq:"
    back = [
        r
        for r in await read_topic(ORDER_EVENTS)
        if r.key == marker.encode() and "redriven-from" in dict(r.headers)
    ]
    assert len(back) == 1
    assert dict(back[0].headers)["redriven-from"].decode().startswith(source)
    assert json.loads(back[0].value)["id"] == marker

    # Still broken, so orchestration gives up on it again: a new dead letter, which says it
    # was a re-drive.
    async def again() -> list[dict[str, Any]]:
        return [i for i in await listed() if i["consumer"] == "orchestration"]

    (newer,) = await eventually(again, timeout=45, what="the re-driven record dead-lettered again")
    detail = (await http.get(f"{letters}/{newer['id']}")).json()
    assert detail["headers"]["redriven-from"].startswith(source)
    assert detail["value"]["id"] == marker
