"""The SQLAlchemy repositories implementing the ports of service_layer/unit_of_work.py.

The projection keeps the facts a unit of work records and writes them when it commits: one
statement per kind of row, executed once with every row of that kind as its parameter sets.
asyncpg sends them in one pipeline (a prepared statement, no per-row round trip), so a
consumer's batch of a few hundred events costs a dozen statements, not one or two per fact:
the per-statement work in Python was most of insights' CPU per order.

Each row is an upsert under its business key. Columns an event may bring twice or out of order
keep the earliest time (LEAST) or the largest count (GREATEST), so the rows depend neither on
the order the topics are read in nor on the order the kinds are written in; within a kind, the
rows go in the order they were recorded. A stock level must know the level before it (to
count a stock-out): the batch's SKUs and locations are read and locked once, in key order, and
the levels applied to them in order here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.insights.adapters.tables import (
    kpi_backorder,
    kpi_fulfilment,
    kpi_hold,
    kpi_location,
    kpi_order,
    kpi_order_line,
    kpi_refund,
    kpi_return,
    kpi_return_line,
    kpi_shipment,
    kpi_shipped_line,
    kpi_sku_threshold,
    kpi_stock,
    kpi_stock_out,
)
from services.insights.domain import facts as f

Merge = Callable[[Any, Any], Any]  # (the kept column, the new value) -> the value to keep


def _earliest(kept: Any, new: Any) -> Any:
    return func.least(kept, new)  # LEAST and GREATEST ignore NULLs in PostgreSQL


def _largest(kept: Any, new: Any) -> Any:
    return func.greatest(kept, new)


def _new(kept: Any, new: Any) -> Any:
    return new


def _upsert(
    table: Table, key: tuple[str, ...], where: Merge | None = None, **merges: Merge
) -> Insert:
    """INSERT, or on the key's conflict each named column merged with the kept one; `where`
    (of the kept and the new row) may skip the update."""
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c[name] for name in key],
        set_={name: merge(table.c[name], stmt.excluded[name]) for name, merge in merges.items()},
        where=None if where is None else where(table, stmt.excluded),
    )


def _insert_once(table: Table) -> Insert:
    return insert(table).on_conflict_do_nothing()


# One statement per kind of row, built once (SQLAlchemy compiles each once, asyncpg prepares it).
PLACED = _upsert(kpi_order, ("order_id",), channel=_new, currency=_new, total=_new, placed_at=_new)
CANCELLED = _upsert(kpi_order, ("order_id",), cancelled_at=_earliest)
PLANNED = _upsert(kpi_order, ("order_id",), plan_locations=_largest)
DISPATCH_OVERDUE = _upsert(kpi_order, ("order_id",), dispatch_overdue_at=_earliest)
ORDER_LINE = _insert_once(kpi_order_line)
BACKORDER_STARTED = _upsert(kpi_backorder, ("reservation_id",), started_at=_earliest)
BACKORDER_ENDED = _upsert(kpi_backorder, ("reservation_id",), ended_at=_largest)
HOLD = _insert_once(kpi_hold)
FULFILMENT = _insert_once(kpi_fulfilment)
# A delivery alone brings no shipped_at and 0 units: LEAST and GREATEST keep what is there.
SHIPMENT = _upsert(
    kpi_shipment, ("shipment_id",), shipped_at=_earliest, units=_largest, delivered_at=_earliest
)
SHIPPED_LINE = _insert_once(kpi_shipped_line)
RETURN_REQUESTED = _upsert(kpi_return, ("return_id",), requested_at=_earliest)
RETURN_REJECTED = _upsert(kpi_return, ("return_id",), rejected=_new)
RETURN_LINE = _insert_once(kpi_return_line)
REFUND = _insert_once(kpi_refund)
# The threshold of the latest low-stock report wins, whatever order the reports come in.
THRESHOLD = _upsert(
    kpi_sku_threshold,
    ("sku",),
    where=lambda kept, new: kept.c.low_since <= new.low_since,
    threshold=_new,
    low_since=_new,
)
# A location's versions grow with every change: an older one is stale.
LOCATION = _upsert(
    kpi_location,
    ("location",),
    where=lambda kept, new: kept.c.version < new.version,
    daily_order_capacity=_new,
    version=_new,
)
STOCK = _upsert(
    kpi_stock,
    ("sku", "location"),
    available=_new,
    network_available=_new,
    out_since=_new,
    updated_at=_new,
)
STOCK_OUT = _insert_once(kpi_stock_out)


@dataclass(frozen=True)
class KeptLevel:
    available: int
    out_since: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class NextLevel:
    """What a stock level makes of the level kept before it; None when it is older."""

    kept: KeptLevel
    fell_to_zero: bool


def next_level(before: KeptLevel | None, level: f.StockLevel) -> NextLevel | None:
    if before is not None and before.updated_at > level.at:
        return None  # an older level than the one kept (one SKU's events come in order)
    fell_to_zero = level.available == 0 and before is not None and before.available > 0
    if level.available > 0:
        out_since = None
    elif before is not None and before.out_since is not None:
        out_since = before.out_since
    else:
        out_since = level.at
    return NextLevel(KeptLevel(level.available, out_since, level.at), fell_to_zero)


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows: dict[Insert, list[dict[str, Any]]] = {}
        self._levels: list[f.StockLevel] = []

    async def record(self, fact: f.Fact) -> None:
        """Kept until `flush`: nothing is written yet."""
        match fact:
            case f.OrderPlaced():
                self._placed(fact)
            case f.OrderCancelled():
                self._add(CANCELLED, order_id=fact.order_id, cancelled_at=fact.at)
            case f.OrderPlanned():
                self._add(PLANNED, order_id=fact.order_id, plan_locations=fact.locations)
            case f.DispatchOverdue():
                self._add(DISPATCH_OVERDUE, order_id=fact.order_id, dispatch_overdue_at=fact.at)
            case f.BackorderStarted():
                self._add(
                    BACKORDER_STARTED,
                    reservation_id=fact.reservation_id,
                    order_id=fact.order_id,
                    started_at=fact.at,
                )
            case f.BackorderEnded():
                self._add(
                    BACKORDER_ENDED,
                    reservation_id=fact.reservation_id,
                    order_id=fact.order_id,
                    ended_at=fact.at,
                )
            case f.OrderHeld():
                self._add(
                    HOLD,
                    hold_id=fact.hold_id,
                    order_id=fact.order_id,
                    reason_code=fact.reason_code,
                    held_at=fact.at,
                )
            case f.FulfilmentCreated():
                self._add(
                    FULFILMENT,
                    fulfillment_id=fact.fulfillment_id,
                    order_id=fact.order_id,
                    location=fact.location,
                    created_at=fact.at,
                )
            case f.Shipped():
                self._shipped(fact)
            case f.Delivered():
                self._shipment(fact.shipment_id, fact.order_id, fact.location, delivered=fact.at)
            case f.ReturnRequested():
                self._return_requested(fact)
            case f.ReturnRejected():
                self._add(
                    RETURN_REJECTED, return_id=fact.return_id, order_id=fact.order_id, rejected=True
                )
            case f.Refunded():
                self._add(
                    REFUND,
                    refund_id=fact.refund_id,
                    order_id=fact.order_id,
                    return_id=fact.return_id,
                    amount=fact.amount,
                    currency=fact.currency,
                    refunded_at=fact.at,
                )
            case f.StockLevel():
                self._levels.append(fact)
            case f.LowStockThreshold():
                self._add(THRESHOLD, sku=fact.sku, threshold=fact.threshold, low_since=fact.at)
            case f.LocationCapacity():
                self._add(
                    LOCATION,
                    location=fact.location,
                    daily_order_capacity=fact.daily_order_capacity,
                    version=fact.version,
                )
            case _:
                assert_never(fact)

    async def flush(self) -> None:
        """Writes what was recorded since the last flush, in this unit of work's transaction."""
        rows, self._rows = self._rows, {}
        levels, self._levels = self._levels, []
        for statement, parameters in rows.items():
            await self._session.execute(statement, parameters)
        if levels:
            await self._write_levels(levels)

    def _add(self, statement: Insert, **row: Any) -> None:
        self._rows.setdefault(statement, []).append(row)

    def _add_all(self, statement: Insert, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._rows.setdefault(statement, []).extend(rows)

    def _placed(self, fact: f.OrderPlaced) -> None:
        self._add(
            PLACED,
            order_id=fact.order_id,
            channel=fact.channel,
            currency=fact.currency,
            total=fact.total,
            placed_at=fact.placed_at,
        )
        lines = [
            {
                "order_id": fact.order_id,
                "line_id": ln.line_id,
                "sku": ln.sku,
                "quantity": ln.quantity,
            }
            for ln in fact.lines
        ]
        self._add_all(ORDER_LINE, lines)

    def _shipped(self, fact: f.Shipped) -> None:
        units = sum(ln.quantity for ln in fact.lines)
        delivered = fact.at if fact.delivered else None
        self._shipment(
            fact.shipment_id,
            fact.order_id,
            fact.location,
            shipped=fact.at,
            units=units,
            delivered=delivered,
        )
        lines = [
            {
                "shipment_id": fact.shipment_id,
                "line_id": ln.line_id,
                "order_id": fact.order_id,
                "quantity": ln.quantity,
            }
            for ln in fact.lines
        ]
        self._add_all(SHIPPED_LINE, lines)

    def _shipment(
        self,
        shipment_id: str,
        order_id: Any,
        location: str,
        *,
        shipped: datetime | None = None,
        units: int = 0,
        delivered: datetime | None = None,
    ) -> None:
        self._add(
            SHIPMENT,
            shipment_id=shipment_id,
            order_id=order_id,
            location=location,
            shipped_at=shipped,
            units=units,
            delivered_at=delivered,
        )

    def _return_requested(self, fact: f.ReturnRequested) -> None:
        self._add(
            RETURN_REQUESTED, return_id=fact.return_id, order_id=fact.order_id, requested_at=fact.at
        )
        lines = [
            {
                "return_id": fact.return_id,
                "line_id": ln.line_id,
                "order_id": fact.order_id,
                "sku": ln.sku,
                "reason": ln.reason,
                "quantity": ln.quantity,
            }
            for ln in fact.lines
        ]
        self._add_all(RETURN_LINE, lines)

    async def _write_levels(self, levels: list[f.StockLevel]) -> None:
        keys = sorted({(level.sku, level.location) for level in levels})
        found = await self._session.execute(
            select(
                kpi_stock.c.sku,
                kpi_stock.c.location,
                kpi_stock.c.available,
                kpi_stock.c.out_since,
                kpi_stock.c.updated_at,
            )
            .where(tuple_(kpi_stock.c.sku, kpi_stock.c.location).in_(keys))
            .order_by(kpi_stock.c.sku, kpi_stock.c.location)
            .with_for_update()
        )
        kept: dict[tuple[str, str], KeptLevel] = {
            (row.sku, row.location): KeptLevel(row.available, row.out_since, row.updated_at)
            for row in found
        }
        written: dict[tuple[str, str], dict[str, Any]] = {}
        stock_outs: list[dict[str, Any]] = []
        for level in levels:
            key = (level.sku, level.location)
            step = next_level(kept.get(key), level)
            if step is None:
                continue
            kept[key] = step.kept
            written[key] = {
                "sku": level.sku,
                "location": level.location,
                "available": level.available,
                "network_available": level.network_available,
                "out_since": step.kept.out_since,
                "updated_at": level.at,
            }
            if step.fell_to_zero:
                stock_outs.append({"sku": level.sku, "location": level.location, "at": level.at})
        if written:
            await self._session.execute(STOCK, [written[key] for key in sorted(written)])
        if stock_outs:
            await self._session.execute(STOCK_OUT, stock_outs)
