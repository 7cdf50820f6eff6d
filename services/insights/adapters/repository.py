"""The SQLAlchemy repositories implementing the ports of service_layer/unit_of_work.py.

The projection writes each fact as one upsert under its business key (two statements for a
stock level, which must know the level before it to count a stock-out). Columns an event may
bring twice or out of order keep the earliest time (LEAST) or the largest count (GREATEST),
so the rows do not depend on the order the topics are read in."""

from __future__ import annotations

from typing import Any, assert_never

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
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


def _earliest(column: Any, new: Any) -> Any:
    return func.least(column, new)  # LEAST ignores NULLs in PostgreSQL


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, fact: f.Fact) -> None:
        match fact:
            case f.OrderPlaced():
                await self._placed(fact)
            case f.OrderCancelled():
                await self._order(fact.order_id, cancelled_at=fact.at)
            case f.OrderPlanned():
                await self._order(fact.order_id, plan_locations=fact.locations)
            case f.DispatchOverdue():
                await self._order(fact.order_id, dispatch_overdue_at=fact.at)
            case f.BackorderStarted() | f.BackorderEnded():
                await self._backorder(fact)
            case f.OrderHeld():
                await self._insert_once(
                    kpi_hold,
                    hold_id=fact.hold_id,
                    order_id=fact.order_id,
                    reason_code=fact.reason_code,
                    held_at=fact.at,
                )
            case f.FulfilmentCreated():
                await self._insert_once(
                    kpi_fulfilment,
                    fulfillment_id=fact.fulfillment_id,
                    order_id=fact.order_id,
                    location=fact.location,
                    created_at=fact.at,
                )
            case f.Shipped():
                await self._shipped(fact)
            case f.Delivered():
                await self._shipment(
                    fact.shipment_id, fact.order_id, fact.location, delivered_at=fact.at
                )
            case f.ReturnRequested():
                await self._return_requested(fact)
            case f.ReturnRejected():
                stmt = insert(kpi_return).values(
                    return_id=fact.return_id, order_id=fact.order_id, rejected=True
                )
                await self._session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[kpi_return.c.return_id], set_={"rejected": True}
                    )
                )
            case f.Refunded():
                await self._insert_once(
                    kpi_refund,
                    refund_id=fact.refund_id,
                    order_id=fact.order_id,
                    return_id=fact.return_id,
                    amount=fact.amount,
                    currency=fact.currency,
                    refunded_at=fact.at,
                )
            case f.StockLevel():
                await self._stock(fact)
            case f.LowStockThreshold():
                stmt = insert(kpi_sku_threshold).values(
                    sku=fact.sku, threshold=fact.threshold, low_since=fact.at
                )
                await self._session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[kpi_sku_threshold.c.sku],
                        set_={"threshold": fact.threshold, "low_since": fact.at},
                        where=kpi_sku_threshold.c.low_since <= fact.at,
                    )
                )
            case f.LocationCapacity():
                stmt = insert(kpi_location).values(
                    location=fact.location,
                    daily_order_capacity=fact.daily_order_capacity,
                    version=fact.version,
                )
                await self._session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[kpi_location.c.location],
                        set_={
                            "daily_order_capacity": fact.daily_order_capacity,
                            "version": fact.version,
                        },
                        # A location's versions grow with every change: an older one is stale.
                        where=kpi_location.c.version < fact.version,
                    )
                )
            case _:
                assert_never(fact)

    async def _insert_once(self, table: Any, **values: Any) -> None:
        await self._session.execute(insert(table).values(**values).on_conflict_do_nothing())

    async def _placed(self, fact: f.OrderPlaced) -> None:
        values = {
            "channel": fact.channel,
            "currency": fact.currency,
            "total": fact.total,
            "placed_at": fact.placed_at,
        }
        stmt = insert(kpi_order).values(order_id=fact.order_id, **values)
        await self._session.execute(
            stmt.on_conflict_do_update(index_elements=[kpi_order.c.order_id], set_=values)
        )
        if fact.lines:
            lines = [
                {
                    "order_id": fact.order_id,
                    "line_id": ln.line_id,
                    "sku": ln.sku,
                    "quantity": ln.quantity,
                }
                for ln in fact.lines
            ]
            await self._session.execute(
                insert(kpi_order_line).values(lines).on_conflict_do_nothing()
            )

    async def _order(self, order_id: Any, **values: Any) -> None:
        stmt = insert(kpi_order).values(order_id=order_id, **values)
        merged = {
            name: func.greatest(kpi_order.c[name], stmt.excluded[name])
            if name == "plan_locations"
            else _earliest(kpi_order.c[name], stmt.excluded[name])
            for name in values
        }
        await self._session.execute(
            stmt.on_conflict_do_update(index_elements=[kpi_order.c.order_id], set_=merged)
        )

    async def _backorder(self, fact: f.BackorderStarted | f.BackorderEnded) -> None:
        column = "started_at" if isinstance(fact, f.BackorderStarted) else "ended_at"
        stmt = insert(kpi_backorder).values(
            reservation_id=fact.reservation_id, order_id=fact.order_id, **{column: fact.at}
        )
        merged = (
            _earliest(kpi_backorder.c.started_at, stmt.excluded.started_at)
            if column == "started_at"
            else func.greatest(kpi_backorder.c.ended_at, stmt.excluded.ended_at)
        )
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[kpi_backorder.c.reservation_id], set_={column: merged}
            )
        )

    async def _shipped(self, fact: f.Shipped) -> None:
        units = sum(ln.quantity for ln in fact.lines)
        delivered = {"delivered_at": fact.at} if fact.delivered else {}
        await self._shipment(
            fact.shipment_id,
            fact.order_id,
            fact.location,
            shipped_at=fact.at,
            units=units,
            **delivered,
        )
        if fact.lines:
            lines = [
                {
                    "shipment_id": fact.shipment_id,
                    "line_id": ln.line_id,
                    "order_id": fact.order_id,
                    "quantity": ln.quantity,
                }
                for ln in fact.lines
            ]
            await self._session.execute(
                insert(kpi_shipped_line).values(lines).on_conflict_do_nothing()
            )

    async def _shipment(
        self, shipment_id: str, order_id: Any, location: str, **values: Any
    ) -> None:
        stmt = insert(kpi_shipment).values(
            shipment_id=shipment_id, order_id=order_id, location=location, **values
        )
        merged = {
            name: func.greatest(kpi_shipment.c[name], stmt.excluded[name])
            if name == "units"
            else _earliest(kpi_shipment.c[name], stmt.excluded[name])
            for name in values
        }
        await self._session.execute(
            stmt.on_conflict_do_update(index_elements=[kpi_shipment.c.shipment_id], set_=merged)
        )

    async def _return_requested(self, fact: f.ReturnRequested) -> None:
        stmt = insert(kpi_return).values(
            return_id=fact.return_id, order_id=fact.order_id, requested_at=fact.at
        )
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[kpi_return.c.return_id],
                set_={
                    "requested_at": _earliest(kpi_return.c.requested_at, stmt.excluded.requested_at)
                },
            )
        )
        if fact.lines:
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
            await self._session.execute(
                insert(kpi_return_line).values(lines).on_conflict_do_nothing()
            )

    async def _stock(self, fact: f.StockLevel) -> None:
        before = (
            await self._session.execute(
                select(kpi_stock.c.available, kpi_stock.c.out_since, kpi_stock.c.updated_at)
                .where(kpi_stock.c.sku == fact.sku, kpi_stock.c.location == fact.location)
                .with_for_update()
            )
        ).one_or_none()
        if before is not None and before.updated_at > fact.at:
            return  # an older level than the one kept (one SKU's events come in order)
        fell_to_zero = fact.available == 0 and before is not None and before.available > 0
        if fact.available > 0:
            out_since = None
        elif before is not None and before.out_since is not None:
            out_since = before.out_since
        else:
            out_since = fact.at
        values = {
            "available": fact.available,
            "network_available": fact.network_available,
            "out_since": out_since,
            "updated_at": fact.at,
        }
        stmt = insert(kpi_stock).values(sku=fact.sku, location=fact.location, **values)
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[kpi_stock.c.sku, kpi_stock.c.location], set_=values
            )
        )
        if fell_to_zero:
            await self._insert_once(kpi_stock_out, sku=fact.sku, location=fact.location, at=fact.at)
