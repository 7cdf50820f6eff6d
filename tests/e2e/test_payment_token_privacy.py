"""The payment token never leaves on a topic anyone else may read (issue 22): an order placed
with a token is authorised with it (the token reached the payment step), and no record on any
public topic of the run (the order, inventory, orchestration, returns and notifications topics
and their dead letters) holds it. Only oms.payments.commands, which orchestration alone reads,
carries it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from libs.messaging.topics import PAYMENT_COMMANDS, TOPICS, dlq_of
from tests.e2e.conftest import Stack
from tests.e2e.orchestration_flows import BERLIN, World, query
from tests.support.api import Api
from tests.support.kafka import read_topic

PRIVATE = {PAYMENT_COMMANDS, dlq_of(PAYMENT_COMMANDS)}
PUBLIC = [name for spec in TOPICS for name in (spec.name, dlq_of(spec.name)) if name not in PRIVATE]


# After the rest: by then every other test has published, and all of it is read.
@pytest.mark.after_the_rest(2)
async def test_an_authorised_order_left_its_token_on_no_public_topic(
    stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    lamp = w.sku("LAMP")
    await w.location("WH-BER", BERLIN, stock={lamp: 5})
    token = f"tok_private_{uuid.uuid4().hex}"  # unique: found only where this order put it
    order = await w.place([(lamp, 1)], token=token)

    await w.open_fulfillments(order["id"], 1)  # made only once the money is authorised
    saga = await w.saga_reaches(order["id"], "fulfilling")
    assert saga["payment"]["status"] == "authorized"
    assert [(k, s) for k, s, _ in await w.payments(order["id"])] == [("authorize", "succeeded")]
    # The simulated provider's own books: the authorisation was asked with this very token.
    booked = await query(
        "orchestration",
        'SELECT kind FROM simulated_payment WHERE "authorization" = :token',
        token=token,
    )
    assert booked == [("authorize",)]
    await w.order_reaches(order["id"], "confirmed")

    secret = token.encode()
    assert set(PUBLIC) >= {"oms.order.events", "oms.notifications.events.dlq"}
    read = 0
    for topic in PUBLIC:
        for record in await read_topic(topic):
            read += 1
            headers = b"".join(value or b"" for _, value in record.headers)
            assert secret not in (record.value or b"") + (record.key or b"") + headers, (
                f"the payment token is on {topic} (offset {record.offset})"
            )
            # Any order's token, not only this one's: no event of the run has a token field.
            assert not _token_fields(_json_or_none(record.value)), (
                f"a token field on {topic} (offset {record.offset})"
            )
    assert read > 0, "the public topics were read"
    private = [r for r in await read_topic(PAYMENT_COMMANDS) if secret in (r.value or b"")]
    assert [r.key for r in private] == [order["id"].encode()]


def _json_or_none(value: bytes | None) -> Any:
    try:
        return json.loads(value or b"null")
    except ValueError:
        return None  # a test's poison record: not an event, and no field to look into


def _token_fields(value: Any, path: str = "") -> list[str]:
    """Every key named like a token anywhere in a decoded record, with its path."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "token" in str(key).lower() and inner is not None:
                found.append(here)
            found += _token_fields(inner, here)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _token_fields(inner, f"{path}[{index}]")
    return found
