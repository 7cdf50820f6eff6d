"""A consumer's batch placing several orders reads the routing view's stock of all their SKUs
in one query, and each order is routed from it; what the same batch projects before an order
(stock sold out here, arrived there) is what that order is routed from, as one by one."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select

from libs.bus.message_bus import Delivery
from libs.runtime import ServiceContainer
from services.orchestration.adapters.tables import routing_decision
from services.orchestration.domain.commands import ProjectLocation, ProjectStock, StartSaga
from services.orchestration.domain.order import OrderLine
from tests.orchestration.integration.conftest import order_snapshot


def delivery(message: Any, key: str) -> Delivery:
    return Delivery(message, None, key, contextlib.nullcontext)


def start(order_id: UUID, sku: str) -> Delivery:
    order = replace(order_snapshot("web"), lines=(OrderLine("L1", sku, 2, Decimal("40.00")),))
    return delivery(StartSaga(order_id, order), str(order_id))


async def located(container: ServiceContainer, *, priority: int) -> str:
    code = f"WH-BATCH-{uuid4().hex[:6].upper()}"
    await container.bus.handle(
        ProjectLocation(
            code, "warehouse", True, ("ship",), "DE", 52.5, 13.4, priority, None, 0, None, "UTC", 1
        )
    )
    return code


async def routed_to(container: ServiceContainer, order_id: UUID) -> list[str]:
    async with container.session_factory() as s:
        body = await s.scalar(
            select(routing_decision.c.body).where(routing_decision.c.order_id == order_id)
        )
    assert body is not None, f"order {order_id} was not routed"
    return [part["location_code"] for part in body["parts"]]


async def test_a_batch_routes_each_of_its_orders_from_one_read(
    container: ServiceContainer,
) -> None:
    sku, other = f"BATCH-{uuid4().hex[:8]}", f"BATCH-{uuid4().hex[:8]}"
    near, far = await located(container, priority=900), await located(container, priority=100)
    await container.bus.handle(ProjectStock(sku, near, 10))
    await container.bus.handle(ProjectStock(other, far, 10))
    orders = [uuid4(), uuid4(), uuid4()]

    await container.bus.handle_batch(
        [start(orders[0], sku), start(orders[1], other), start(orders[2], sku)]
    )

    assert [await routed_to(container, o) for o in orders] == [[near], [far], [near]]


async def test_what_a_batch_projects_before_an_order_routes_it(
    container: ServiceContainer,
) -> None:
    sku = f"BATCH-{uuid4().hex[:8]}"
    first, second = await located(container, priority=900), await located(container, priority=100)
    await container.bus.handle(ProjectStock(sku, first, 10))
    early, late = uuid4(), uuid4()

    await container.bus.handle_batch(
        [
            start(early, sku),
            delivery(ProjectStock(sku, first, 0), sku),  # sold out at the first
            delivery(ProjectStock(sku, second, 10), sku),  # arrived at the second
            start(late, sku),
        ]
    )

    assert await routed_to(container, early) == [first]
    assert await routed_to(container, late) == [second]


async def test_a_batch_routes_from_the_stock_it_projected_where_the_prefetch_saw_stock(
    container: ServiceContainer,
) -> None:
    # Both locations hold the SKU when the batch reads it, so each change is applied to what
    # was read rather than read again: the figures must be the ones projected all the same.
    sku = f"BATCH-{uuid4().hex[:8]}"
    first, second = await located(container, priority=900), await located(container, priority=100)
    await container.bus.handle(ProjectStock(sku, first, 10))
    await container.bus.handle(ProjectStock(sku, second, 10))
    early, middle, late = uuid4(), uuid4(), uuid4()

    await container.bus.handle_batch(
        [
            start(early, sku),
            delivery(ProjectStock(sku, first, 1), sku),  # too little left for two units
            start(middle, sku),
            delivery(ProjectStock(sku, first, 12), sku),  # restocked
            delivery(ProjectStock(sku, second, 0), sku),  # sold out
            start(late, sku),
        ]
    )

    assert await routed_to(container, early) == [first]
    assert await routed_to(container, middle) == [second]
    assert await routed_to(container, late) == [first]
