"""Read-side SQL of GET /invariants: every counter against its ledger and its reservations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory.adapters.read_models import DriftView, InvariantsView
from services.inventory.adapters.tables import (
    reservation,
    reservation_line,
    stock_level,
    stock_movement,
)


async def invariants(session: AsyncSession, now: datetime) -> InvariantsView:
    """Every counter against its ledger and its open reservation lines; nothing negative."""
    ledger = (
        select(
            stock_movement.c.location_code,
            stock_movement.c.sku,
            func.sum(stock_movement.c.on_hand_delta).label("on_hand"),
            func.sum(stock_movement.c.reserved_delta).label("reserved"),
        )
        .group_by(stock_movement.c.location_code, stock_movement.c.sku)
        .subquery()
    )
    held = (
        select(
            reservation_line.c.location_code,
            reservation_line.c.sku,
            func.sum(reservation_line.c.held).label("held"),
        )
        .where(reservation_line.c.held > 0)
        .group_by(reservation_line.c.location_code, reservation_line.c.sku)
        .subquery()
    )
    ledger_on_hand = func.coalesce(ledger.c.on_hand, 0)
    ledger_reserved = func.coalesce(ledger.c.reserved, 0)
    held_units = func.coalesce(held.c.held, 0)
    rows = (
        await session.execute(
            select(
                stock_level.c.location_code,
                stock_level.c.sku,
                stock_level.c.on_hand,
                stock_level.c.reserved,
                ledger_on_hand.label("ledger_on_hand"),
                ledger_reserved.label("ledger_reserved"),
                held_units.label("held"),
                func.count().over().label("rows_total"),
            )
            .outerjoin(
                ledger,
                (ledger.c.location_code == stock_level.c.location_code)
                & (ledger.c.sku == stock_level.c.sku),
            )
            .outerjoin(
                held,
                (held.c.location_code == stock_level.c.location_code)
                & (held.c.sku == stock_level.c.sku),
            )
        )
    ).all()
    drift = [d for r in rows for d in _drift_of(r)]
    drift += await _orphan_ledger(session)
    drift += await _broken_lines(session)
    return InvariantsView(ok=not drift, checked_at=now, stock_rows=len(rows), drift=drift)


def _drift_of(r: Any) -> list[DriftView]:
    checks = [
        ("on_hand_equals_ledger", int(r.ledger_on_hand), r.on_hand),
        ("reserved_equals_ledger", int(r.ledger_reserved), r.reserved),
        ("reserved_equals_held_reservation_lines", int(r.held), r.reserved),
        ("on_hand_not_negative", max(r.on_hand, 0), r.on_hand),
        ("reserved_within_on_hand", min(r.reserved, r.on_hand), r.reserved),
    ]
    return [
        DriftView(location_code=r.location_code, sku=r.sku, check=name, expected=exp, actual=act)
        for name, exp, act in checks
        if exp != act
    ]


async def _orphan_ledger(session: AsyncSession) -> list[DriftView]:
    """Ledger rows of a (location, SKU) that has no stock row at all."""
    rows = await session.execute(
        select(stock_movement.c.location_code, stock_movement.c.sku, func.count())
        .outerjoin(
            stock_level,
            (stock_level.c.location_code == stock_movement.c.location_code)
            & (stock_level.c.sku == stock_movement.c.sku),
        )
        .where(stock_level.c.sku.is_(None))
        .group_by(stock_movement.c.location_code, stock_movement.c.sku)
    )
    return [
        DriftView(
            location_code=code, sku=sku, check="ledger_without_stock_row", expected=0, actual=n
        )
        for code, sku, n in rows
    ]


async def _broken_lines(session: AsyncSession) -> list[DriftView]:
    """Reservation lines whose buckets do not add up to their quantity."""
    total = (
        reservation_line.c.held
        + reservation_line.c.backordered
        + reservation_line.c.committed
        + reservation_line.c.released
    )
    rows = await session.execute(
        select(
            reservation_line.c.location_code,
            reservation_line.c.sku,
            reservation_line.c.quantity,
            total.label("total"),
        )
        .join(reservation, reservation.c.id == reservation_line.c.reservation_id)
        .where(
            reservation.c.status != "rejected",
            or_(
                total != reservation_line.c.quantity,
                reservation_line.c.held < literal(0),
                reservation_line.c.backordered < literal(0),
            ),
        )
    )
    return [
        DriftView(
            location_code=r.location_code or "",
            sku=r.sku,
            check="reservation_line_buckets_add_up",
            expected=r.quantity,
            actual=r.total,
        )
        for r in rows
    ]
