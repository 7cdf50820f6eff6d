"""The review rules over the API against the real database: every rule round-trips through
the versioned document, and a value the rules cannot take is 422."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

EVERY_RULE = {
    "max_order_value": "1000.00",
    "countries_must_match": True,
    "max_risk_score": 80,
    "new_customer_max_value": "250.00",
    "hold_invalid_addresses": True,
}


@pytest.fixture
async def restored(client: httpx.AsyncClient) -> AsyncIterator[dict[str, Any]]:
    """The rules in force before the test (as a PUT body), put back after it."""
    before = (await client.get("/v1/review-rules")).json()
    body = {k: v for k, v in before.items() if k not in ("version", "created_at")}
    yield body
    r = await client.put("/v1/review-rules", json=body)
    assert r.status_code == 200, r.text


def rules_of(read: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in read.items() if k not in ("version", "created_at")}


async def test_every_rule_round_trips_as_a_new_version(
    client: httpx.AsyncClient, restored: dict[str, Any]
) -> None:
    before = await client.get("/v1/review-rules")

    put = await client.put(
        "/v1/review-rules", json=EVERY_RULE, headers={"If-Match": before.headers["ETag"]}
    )

    assert put.status_code == 200, put.text
    assert put.json()["version"] == before.json()["version"] + 1
    got = await client.get("/v1/review-rules")
    assert rules_of(got.json()) == rules_of(put.json()) == EVERY_RULE
    assert got.headers["ETag"] == put.headers["ETag"]


async def test_a_rule_left_out_is_off(client: httpx.AsyncClient, restored: dict[str, Any]) -> None:
    put = await client.put("/v1/review-rules", json={"max_risk_score": 90})

    assert put.status_code == 200, put.text
    assert rules_of(put.json()) == {
        "max_order_value": None,
        "countries_must_match": False,
        "max_risk_score": 90,
        "new_customer_max_value": None,
        "hold_invalid_addresses": False,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"new_customer_max_value": "-0.01"},
        {"new_customer_max_value": "ten"},
        {"hold_invalid_addresses": "sometimes"},
    ],
)
async def test_a_value_the_rules_cannot_take_is_422(
    client: httpx.AsyncClient, restored: dict[str, Any], body: dict[str, Any]
) -> None:
    before = (await client.get("/v1/review-rules")).json()

    r = await client.put("/v1/review-rules", json=body)

    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    field = next(iter(body))
    assert any(field in str(e.get("field", "")) for e in r.json()["errors"]), r.json()
    assert (await client.get("/v1/review-rules")).json() == before
