"""returns in-process (API only, no workers) against the real test database; orders reach its
projection through the same commands its consumer sends to the bus."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from libs.runtime import ServiceContainer
from services.returns.api.app import create_app
from services.returns.bootstrap import bootstrap
from services.returns.domain import commands
from tests.support.tokens import admin_headers


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.engine.dispose()


@pytest.fixture
async def client(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container, parts=("api",))
    app.state.container = container
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=admin_headers()
    ) as c:
        yield c


@pytest.fixture
async def anonymous(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    """A client without a token, as a customer's browser is."""
    app = create_app(container, parts=("api",))
    app.state.container = container
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def policy(client: httpx.AsyncClient) -> AsyncIterator[dict[str, Any]]:
    """Put a policy in force for one test (tests change it), and restore the earlier one."""
    before = (await client.get("/v1/return-policy")).json()
    body: dict[str, Any] = {"window_days": 30, "refund_timing": "on_receipt"}
    yield body
    restored = {k: v for k, v in before.items() if k not in ("version", "created_at")}
    assert (await client.put("/v1/return-policy", json=restored)).status_code == 200


async def delivered_order(
    container: ServiceContainer,
    *,
    units: int = 2,
    sku: str | None = None,
    email: str = "ada@example.com",
    delivered_days_ago: int = 1,
    channel: str = "web",
) -> dict[str, Any]:
    """An order of one line of `units` at 10.00 (4.90 shipping), all of it delivered."""
    order_id, line_id = uuid.uuid4(), uuid.uuid4()
    number = f"OMS-{uuid.uuid4().hex[:10].upper()}"
    sku = sku or f"SKU-{uuid.uuid4().hex[:8].upper()}"
    now = datetime.now(UTC)
    await container.bus.handle(
        commands.ProjectPlacedOrder(
            order_id=order_id,
            order_number=number,
            customer_email=email,
            currency="EUR",
            placed_at=now - timedelta(days=delivered_days_ago + 2),
            lines=(commands.KnownLine(line_id, sku, units, Decimal("10.00")),),
            channel=channel,
            customer_name="Ada Lovelace",
            shipping_amount=Decimal("4.90"),
            grand_total=Decimal("10.00") * units + Decimal("4.90"),
            shipping_address={
                "name": "Ada Lovelace",
                "line1": "Unter den Linden 1",
                "city": "Berlin",
                "postal_code": "10117",
                "country": "DE",
            },
        )
    )
    await container.bus.handle(
        commands.RecordShipment(
            order_id,
            f"SHP-{uuid.uuid4().hex[:8]}",
            {line_id: units},
            now - timedelta(days=delivered_days_ago),
            delivered=True,
        )
    )
    return {
        "id": str(order_id),
        "number": number,
        "line_id": str(line_id),
        "sku": sku,
        "email": email,
        "channel": channel,
    }


def return_body(
    order: dict[str, Any], quantity: int = 1, reason: str = "size_fit", **extra: Any
) -> dict[str, Any]:
    return {
        "order_id": order["id"],
        "lines": [{"line_id": order["line_id"], "quantity": quantity, "reason": reason}],
        "method": "mail",
        **extra,
    }
