"""Small steps the end-to-end tests share: stock a SKU, place an order, read statuses."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from libs.messaging.envelope import Envelope
from tests.support.kafka import read_topic
from tests.support.orders import order_body
from tests.support.polling import eventually


def random_sku(prefix: str = "SKU") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


async def set_stock(
    http: httpx.AsyncClient, urls: dict[str, str], *, location: str, sku: str, on_hand: int
) -> None:
    created = await http.post(
        f"{urls['inventory']}/v1/locations",
        json={
            "code": location,
            "name": location,
            "type": "warehouse",
            "address": {
                "line1": "Lagerweg 1",
                "city": "Berlin",
                "postal_code": "10115",
                "country": "DE",
            },
            "capabilities": ["ship"],
        },
    )
    assert created.status_code in (201, 409), created.text  # 409: an earlier test made it
    r = await http.put(
        f"{urls['inventory']}/v1/locations/{location}/stock/{sku}", json={"on_hand": on_hand}
    )
    assert r.status_code == 200, r.text


async def place_order(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    *,
    lines: list[tuple[str, int]],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    body = order_body(
        [(sku, qty, "10.00") for sku, qty in lines],
        channel_order_ref=f"E2E-{uuid.uuid4().hex[:12]}",
        customer={"email": "grace@example.com", "name": "Grace Hopper"},
    )
    key = {"Idempotency-Key": str(uuid.uuid4())}
    r = await http.post(
        f"{urls['order_capture']}/v1/orders", json=body, headers={**key, **(headers or {})}
    )
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


async def order_status(http: httpx.AsyncClient, urls: dict[str, str], order_id: str) -> str:
    r = await http.get(f"{urls['order_capture']}/v1/orders/{order_id}")
    assert r.status_code == 200, r.text
    status: str = r.json()["status"]
    return status


async def wait_for_status(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    order_id: str,
    status: str,
    *,
    timeout: float = 15,
) -> None:
    """Poll the order until it reaches `status` (the services answer asynchronously)."""
    await eventually(
        lambda: order_status(http, urls, order_id),
        until=lambda s: s == status,
        timeout=timeout,
        what=f"order {order_id} {status}",
    )


async def events_about(topic: str, order_ids: set[str]) -> list[Envelope]:
    """Every CloudEvent now on the topic whose subject is one of the orders (duplicates kept)."""
    found = []
    for record in await read_topic(topic):
        try:
            event = Envelope.from_bytes(record.value)
        except ValueError:
            continue  # the poison-message test's deliberately broken records
        if event.subject in order_ids:
            assert record.key.decode() == event.partitionkey == event.subject
            found.append(event)
    return found
