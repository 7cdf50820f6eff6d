"""The projection's writes against the real database: a consumer's batch records many facts in
one unit of work and writes them kind by kind at its commit; a batch that fails is handled
again one record at a time. Both must leave the same rows, and the rows the rules say.

Each test's keys carry a tag of its own (order ids, SKUs, locations...), so the rows of other
modules sharing the database are neither read nor changed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, delete, select

from libs.runtime import ServiceContainer
from services.insights.adapters.repository import ProjectionRepository
from services.insights.adapters.tables import PROJECTION_TABLES
from services.insights.domain import facts as f

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def scenario(tag: str) -> list[f.Fact]:
    """Facts as the topics bring them side by side: repeated, late, out of order."""
    order = uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/order")
    other = uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/other")
    sku, wh, store = f"{tag}-SKU", f"{tag}-WH", f"{tag}-STORE"
    placed = f.OrderPlaced(
        order,
        "web",
        "EUR",
        Decimal("42.5000"),
        at(0),
        (f.PlacedLine("L1", sku, 2), f.PlacedLine("L2", f"{sku}2", 1)),
    )
    shipped = f.Shipped(order, f"{tag}-SH1", wh, at(50), (f.ShippedLine("L1", 2),))
    return [
        # The plan and a cancellation of the other order before its placement.
        f.OrderPlanned(other, 1),
        f.OrderCancelled(other, at(30)),
        f.OrderPlaced(other, "phone", "EUR", Decimal("10.0000"), at(5), ()),
        f.OrderCancelled(other, at(20)),  # an earlier cancellation time wins
        placed,
        placed,  # the same placement under another event id
        f.OrderPlanned(order, 2),
        f.OrderPlanned(order, 1),  # a later, smaller plan: the split stays counted
        f.DispatchOverdue(order, at(40)),
        f.DispatchOverdue(order, at(45)),
        f.BackorderEnded(order, f"{tag}-R1", at(35)),  # the end before the start
        f.BackorderStarted(order, f"{tag}-R1", at(1)),
        f.BackorderEnded(order, f"{tag}-R1", at(33)),
        f.OrderHeld(order, f"{tag}-H1", "fraud_review", at(2)),
        f.OrderHeld(order, f"{tag}-H1", "other", at(3)),  # the first report of a hold stays
        f.FulfilmentCreated(order, f"{tag}-F1", wh, at(10)),
        f.FulfilmentCreated(order, f"{tag}-F1", wh, at(10)),
        f.Delivered(order, f"{tag}-SH1", wh, at(90)),  # the delivery before the shipment
        shipped,
        shipped,
        f.Delivered(order, f"{tag}-SH1", wh, at(95)),
        f.Shipped(order, f"{tag}-SH2", store, at(60), (f.ShippedLine("L2", 1),), delivered=True),
        f.ReturnRejected(order, f"{tag}-RT2"),  # rejected before the request is read
        f.ReturnRequested(
            order, f"{tag}-RT2", at(130), (f.ReturnLine("L2", f"{sku}2", 1, "changed_mind"),)
        ),
        f.ReturnRequested(order, f"{tag}-RT1", at(120), (f.ReturnLine("L1", sku, 1, "damaged"),)),
        f.ReturnRequested(order, f"{tag}-RT1", at(125), (f.ReturnLine("L1", sku, 1, "damaged"),)),
        f.Refunded(order, f"{tag}-RF1", f"{tag}-RT1", Decimal("21.2500"), "EUR", at(150)),
        f.Refunded(order, f"{tag}-RF1", f"{tag}-RT1", Decimal("21.2500"), "EUR", at(150)),
        # Stock at the warehouse: falls to 0, comes back, falls again; one late, older level.
        f.StockLevel(sku, wh, 3, 5, at(0)),
        f.StockLevel(sku, wh, 0, 2, at(10)),
        f.StockLevel(sku, wh, 0, 2, at(11)),  # still out: no second stock-out, same since
        f.StockLevel(sku, wh, 4, 6, at(20)),
        f.StockLevel(sku, wh, 9, 9, at(15)),  # older than the level kept: ignored
        f.StockLevel(sku, wh, 0, 2, at(30)),
        # A store that starts at 0 (no fall counted: nothing was there before) and a SKU
        # that falls at the store.
        f.StockLevel(sku, store, 0, 2, at(12)),
        f.StockLevel(f"{sku}2", store, 1, 1, at(12)),
        f.StockLevel(f"{sku}2", store, 0, 0, at(61)),
        f.LowStockThreshold(sku, 5, at(10)),
        f.LowStockThreshold(sku, 3, at(30)),
        f.LowStockThreshold(sku, 4, at(20)),  # older: the threshold of at(30) stays
        f.LocationCapacity(wh, 100, 2),
        f.LocationCapacity(wh, 80, 1),  # an older version: stale
        f.LocationCapacity(store, None, 1),
    ]


# Each table's column that carries the tag, or names one of the tag's orders.
KEYS = {
    "kpi_order": "order_id",
    "kpi_order_line": "order_id",
    "kpi_fulfilment": "fulfillment_id",
    "kpi_shipment": "shipment_id",
    "kpi_shipped_line": "shipment_id",
    "kpi_hold": "hold_id",
    "kpi_backorder": "reservation_id",
    "kpi_return": "return_id",
    "kpi_return_line": "return_id",
    "kpi_refund": "refund_id",
    "kpi_stock": "sku",
    "kpi_stock_out": "sku",
    "kpi_sku_threshold": "sku",
    "kpi_location": "location",
}
ORDER, OTHER = "ORDER", "OTHER"  # the tag's two orders, as the rows below name them

# The rows the scenario must leave, in each table's column order ("TAG" for the tag).
EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    # order_id, channel, currency, total, placed_at, cancelled_at, plan_locations,
    # dispatch_overdue_at
    "kpi_order": [
        (ORDER, "web", "EUR", Decimal("42.5"), at(0), None, 2, at(40)),
        (OTHER, "phone", "EUR", Decimal("10"), at(5), at(20), 1, None),
    ],
    "kpi_order_line": [(ORDER, "L1", "TAG-SKU", 2), (ORDER, "L2", "TAG-SKU2", 1)],
    "kpi_fulfilment": [("TAG-F1", ORDER, "TAG-WH", at(10))],
    # shipment_id, order_id, location, shipped_at, delivered_at, units
    "kpi_shipment": [
        ("TAG-SH1", ORDER, "TAG-WH", at(50), at(90), 2),
        ("TAG-SH2", ORDER, "TAG-STORE", at(60), at(60), 1),
    ],
    "kpi_shipped_line": [("TAG-SH1", "L1", ORDER, 2), ("TAG-SH2", "L2", ORDER, 1)],
    "kpi_hold": [("TAG-H1", ORDER, "fraud_review", at(2))],
    "kpi_backorder": [("TAG-R1", ORDER, at(1), at(35))],
    "kpi_return": [("TAG-RT1", ORDER, at(120), False), ("TAG-RT2", ORDER, at(130), True)],
    "kpi_return_line": [
        ("TAG-RT1", "L1", ORDER, "TAG-SKU", "damaged", 1),
        ("TAG-RT2", "L2", ORDER, "TAG-SKU2", "changed_mind", 1),
    ],
    "kpi_refund": [("TAG-RF1", ORDER, "TAG-RT1", Decimal("21.25"), "EUR", at(150))],
    # sku, location, available, network_available, out_since, updated_at
    "kpi_stock": [
        ("TAG-SKU", "TAG-STORE", 0, 2, at(12), at(12)),
        ("TAG-SKU", "TAG-WH", 0, 2, at(30), at(30)),
        ("TAG-SKU2", "TAG-STORE", 0, 0, at(61), at(61)),
    ],
    "kpi_stock_out": [
        ("TAG-SKU", "TAG-WH", at(10)),
        ("TAG-SKU", "TAG-WH", at(30)),
        ("TAG-SKU2", "TAG-STORE", at(61)),
    ],
    "kpi_sku_threshold": [("TAG-SKU", 3, at(30))],
    "kpi_location": [("TAG-STORE", None, 1), ("TAG-WH", 100, 2)],
}


def orders_of(tag: str) -> dict[uuid.UUID, str]:
    return {
        uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/{name.lower()}"): name for name in (ORDER, OTHER)
    }


def of_tag(table: Table, tag: str) -> Any:
    column = table.c[KEYS[table.name]]
    if column.name == "order_id":
        return column.in_(list(orders_of(tag)))
    return column.startswith(tag)


def untagged(value: Any, tag: str, orders: dict[uuid.UUID, str]) -> Any:
    if isinstance(value, uuid.UUID):
        return orders.get(value, value)
    if isinstance(value, str):
        return value.replace(tag, "TAG")
    return value


async def rows(container: ServiceContainer, tag: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection row of this tag, the tag taken out, each table's rows in order."""
    orders = orders_of(tag)
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with container.session_factory() as session:
        for table in PROJECTION_TABLES:
            result = await session.execute(select(table).where(of_tag(table, tag)))
            found[table.name] = sorted(
                (tuple(untagged(v, tag, orders) for v in row) for row in result), key=repr
            )
    return found


async def record(container: ServiceContainer, facts: Sequence[f.Fact]) -> None:
    """The facts in one transaction, as a consumer's batch records them."""
    async with container.session_factory() as session, session.begin():
        projection = ProjectionRepository(session)
        for fact in facts:
            await projection.record(fact)
        await projection.flush()


def chunks(facts: list[f.Fact], size: int) -> list[list[f.Fact]]:
    return [facts[i : i + size] for i in range(0, len(facts), size)]


@pytest.fixture
async def tag(container: ServiceContainer) -> AsyncIterator[str]:
    made = f"p{uuid.uuid4().hex[:10]}"
    yield made
    async with container.session_factory() as session, session.begin():
        for table in PROJECTION_TABLES:
            await session.execute(delete(table).where(of_tag(table, made)))


# One fact per transaction is how a failed batch is handled again; 7 cuts the scenario's
# repeated and out-of-order facts apart; the whole scenario is one consumer fetch.
@pytest.mark.parametrize("size", [1, 7, 1000], ids=["alone", "by-7", "one-batch"])
async def test_the_rows_are_the_rules_whatever_the_batches(
    container: ServiceContainer, tag: str, size: int
) -> None:
    for batch in chunks(scenario(tag), size):
        await record(container, batch)
    assert await rows(container, tag) == EXPECTED


async def test_the_scenario_recorded_again_changes_nothing(
    container: ServiceContainer, tag: str
) -> None:
    await record(container, scenario(tag))
    await record(container, scenario(tag))
    assert await rows(container, tag) == EXPECTED
