"""Manual review's new-customer rule against the real database: the customer's history is
counted once per started saga, in the transaction that starts it (a lone start's or a whole
batch's), and a start delivered again counts nothing."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select

from libs.bus.message_bus import Delivery
from libs.runtime import ServiceContainer
from services.orchestration.adapters.tables import customer_history, order_saga
from services.orchestration.domain.commands import ProjectLocation, ProjectStock, StartSaga
from tests.orchestration.integration.conftest import order_snapshot


@pytest.fixture(scope="module", autouse=True)
async def stocked(container: ServiceContainer) -> None:
    """A location with the sample order's SKU: an order no rule holds is routed at once."""
    code = f"WH-CUST-{uuid4().hex[:6].upper()}"
    await container.bus.handle(
        ProjectLocation(
            code, "warehouse", True, ("ship",), "DE", 52.5, 13.4, 500, None, 0, None, "UTC", 1
        )
    )
    await container.bus.handle(ProjectStock("LAMP-001", code, 1_000_000))


@pytest.fixture
async def new_customers_reviewed(client: httpx.AsyncClient) -> AsyncIterator[None]:
    """A new customer's order above 10.00 (the sample order is 44.90) reviewed for the test,
    the rules before restored after it."""
    before = (await client.get("/v1/review-rules")).json()
    put = await client.put("/v1/review-rules", json={"new_customer_max_value": "10.00"})
    assert put.status_code == 200, put.text
    yield
    body = {k: v for k, v in before.items() if k not in ("version", "created_at")}
    restored = await client.put("/v1/review-rules", json=body)
    assert restored.status_code == 200, restored.text


def start(order_id: UUID, email: str) -> StartSaga:
    return StartSaga(order_id, dataclasses.replace(order_snapshot("web"), customer_email=email))


def delivered(cmd: StartSaga) -> Delivery:
    return Delivery(cmd, None, str(cmd.order_id), contextlib.nullcontext)


def an_email() -> str:
    return f"new.{uuid4().hex[:10]}@example.com"


async def held_for(container: ServiceContainer, order_id: UUID) -> str | None:
    """The detail of the order's review hold; None when it is not held for review."""
    async with container.session_factory() as s:
        data = await s.scalar(select(order_saga.c.data).where(order_saga.c.order_id == order_id))
    assert data is not None, f"no saga for {order_id}"
    hold = data.get("hold") or {}
    return hold.get("detail") if hold.get("reason") == "review" else None


async def history(container: ServiceContainer, email: str) -> tuple[UUID, int] | None:
    """The customer's first order and how many orders were counted."""
    async with container.session_factory() as s:
        row = (
            await s.execute(
                select(customer_history.c.first_order_id, customer_history.c.orders).where(
                    customer_history.c.customer_key == email.lower()
                )
            )
        ).one_or_none()
    return (row.first_order_id, row.orders) if row is not None else None


async def test_a_start_delivered_again_counts_nothing_alone_or_in_a_batch(
    container: ServiceContainer, new_customers_reviewed: None
) -> None:
    email = an_email()
    first, second = uuid4(), uuid4()
    await container.bus.handle(start(first, email))

    await container.bus.handle(start(first, email))  # another event id: the saga is there
    await container.bus.handle_batch([delivered(start(first, email))])
    assert await history(container, email) == (first, 1)

    await container.bus.handle(start(second, email))
    await container.bus.handle(start(second, email))
    assert await history(container, email) == (first, 2)
    assert await held_for(container, first) is not None
    assert await held_for(container, second) is None


async def test_a_batch_counts_its_customers_once_each_and_knows_the_first(
    container: ServiceContainer, new_customers_reviewed: None
) -> None:
    ada, grace, known = an_email(), an_email(), an_email()
    earlier = uuid4()
    await container.bus.handle(start(earlier, known))
    a1, a2, g1, k2 = uuid4(), uuid4(), uuid4(), uuid4()

    await container.bus.handle_batch(
        [
            delivered(start(a1, ada)),
            delivered(start(g1, grace)),
            delivered(start(a1, ada)),  # twice in the batch, under two event ids
            delivered(start(a2, ada)),
            delivered(start(k2, known)),
            delivered(start(earlier, known)),  # its saga is there already
        ]
    )

    assert await history(container, ada) == (a1, 2)
    assert await history(container, grace) == (g1, 1)
    assert await history(container, known) == (earlier, 2)
    assert [await held_for(container, o) is not None for o in (a1, a2, g1, k2)] == [
        True,
        False,
        True,
        False,
    ]
