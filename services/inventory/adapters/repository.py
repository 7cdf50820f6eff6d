"""Locations, stock levels, inbound deliveries and reservations: all aggregate SQL of inventory.

Lock order, the same everywhere so that concurrent writers never deadlock:
inbound row -> stock rows (sorted by location code, then SKU) -> reservation rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import narrowing
from services.inventory.adapters import mappers
from services.inventory.adapters.tables import (
    inbound,
    location,
    reservation,
    reservation_line,
    sku_policy,
    stock_level,
    stock_movement,
)
from services.inventory.domain.allocation import Incoming, Key
from services.inventory.domain.backorders import WaitingLine
from services.inventory.domain.inbound import Inbound
from services.inventory.domain.locations import Capability, Location
from services.inventory.domain.reservation import Reservation, ReservationLine
from services.inventory.domain.stock import Movement, StockLevel


class LocationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(
        self, code: str, *, for_update: bool = False, within: frozenset[str] | None = None
    ) -> Location | None:
        """The location, if it exists and is `within` the caller's locations (None: any)."""
        query = select(location).where(
            location.c.code == code, narrowing.within(location.c.code, within)
        )
        row = (
            await self._session.execute(query.with_for_update() if for_update else query)
        ).first()
        return mappers.location(row) if row else None

    async def add(self, loc: Location) -> None:
        await self._session.execute(insert(location).values(**mappers.location_values(loc)))

    async def save(self, loc: Location) -> None:
        await self._session.execute(
            update(location)
            .where(location.c.code == loc.code)
            .values(**mappers.location_values(loc))
        )

    async def active(self, codes: Iterable[str]) -> set[str]:
        rows = await self._session.execute(
            select(location.c.code).where(location.c.code.in_(set(codes)), location.c.active)
        )
        return set(rows.scalars())

    async def existing(self, codes: Iterable[str]) -> set[str]:
        rows = await self._session.execute(
            select(location.c.code).where(location.c.code.in_(set(codes)))
        )
        return set(rows.scalars())


@dataclass
class TouchedLevel:
    """A stock row changed in this transaction: its state now, and what it was before."""

    level: StockLevel
    available_before: int
    reasons: list[str] = field(default_factory=list)


class StockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.touched: dict[Key, TouchedLevel] = {}

    async def lock(
        self, keys: Iterable[Key], *, skus_shipped_from_anywhere: Iterable[str] = ()
    ) -> dict[Key, StockLevel]:
        """Lock the named rows, plus every row of the given SKUs at active shipping
        locations, in one statement and in the global order."""
        keys = sorted(set(keys))
        skus = sorted(set(skus_shipped_from_anywhere))
        conditions: list[ColumnElement[bool]] = []
        if keys:
            conditions.append(tuple_(stock_level.c.location_code, stock_level.c.sku).in_(keys))
        if skus:
            shipping = select(location.c.code).where(
                location.c.active,
                location.c.capabilities.overlap(
                    [Capability.SHIP.value, Capability.SHIP_FROM_STORE.value]
                ),
            )
            conditions.append(
                and_(stock_level.c.sku.in_(skus), stock_level.c.location_code.in_(shipping))
            )
        if not conditions:
            return {}
        rows = await self._session.execute(
            select(stock_level)
            .where(or_(*conditions))
            .order_by(stock_level.c.location_code, stock_level.c.sku)
            .with_for_update(of=stock_level)
        )
        return {(r.location_code, r.sku): mappers.level(r) for r in rows}

    async def lock_or_create(self, keys: Iterable[Key], *, now: datetime) -> dict[Key, StockLevel]:
        """Lock these rows, creating empty ones for pairs never stocked before."""
        keys = sorted(set(keys))
        await self._session.execute(
            pg_insert(stock_level)
            .values(
                [
                    {"location_code": c, "sku": s, "on_hand": 0, "reserved": 0, "updated_at": now}
                    for c, s in keys
                ]
            )
            .on_conflict_do_nothing()
        )
        return await self.lock(keys)

    async def apply(self, level: StockLevel, movement: Movement, *, now: datetime) -> int:
        """Change one locked row and write its ledger row, in one statement.

        The UPDATE re-checks availability itself: even a wrong decision above cannot take
        more than is available, and the table's CHECKs refuse what is left.
        """
        before = level.available
        level.apply(movement)
        guard = []
        if movement.takes_available:
            guard.append(
                stock_level.c.on_hand - stock_level.c.reserved - stock_level.c.safety_stock
                >= movement.reserved_delta
            )
        changed = (
            update(stock_level)
            .where(
                stock_level.c.location_code == level.location_code,
                stock_level.c.sku == level.sku,
                *guard,
            )
            .values(
                on_hand=stock_level.c.on_hand + movement.on_hand_delta,
                reserved=stock_level.c.reserved + movement.reserved_delta,
                updated_at=now,
            )
            .returning(stock_level.c.on_hand, stock_level.c.reserved)
            .cte("changed")
        )
        written = await self._session.execute(
            insert(stock_movement)
            .from_select(
                [
                    "location_code",
                    "sku",
                    "on_hand_delta",
                    "reserved_delta",
                    "on_hand_after",
                    "reserved_after",
                    "reason",
                    "reference",
                    "note",
                    "occurred_at",
                ],
                select(
                    literal(level.location_code),
                    literal(level.sku),
                    literal(movement.on_hand_delta),
                    literal(movement.reserved_delta),
                    changed.c.on_hand,
                    changed.c.reserved,
                    literal(movement.reason.value),
                    literal(movement.reference),
                    literal(movement.note),
                    literal(now),
                ),
            )
            .returning(
                stock_movement.c.id, stock_movement.c.on_hand_after, stock_movement.c.reserved_after
            )
        )
        after = written.one_or_none()
        if after is None or (after.on_hand_after, after.reserved_after) != (
            level.on_hand,
            level.reserved,
        ):
            raise RuntimeError(f"stock row {level.key} changed under its lock")
        self._touch(level, before, movement.reason.value)
        return int(after.id)

    async def has_movement(self, reference: str) -> bool:
        found = await self._session.scalar(
            select(stock_movement.c.id).where(stock_movement.c.reference == reference).limit(1)
        )
        return found is not None

    async def set_safety_stock(
        self, level: StockLevel, safety_stock: int, *, now: datetime
    ) -> None:
        before = level.available
        if not level.set_safety_stock(safety_stock):
            return
        await self._session.execute(
            update(stock_level)
            .where(
                stock_level.c.location_code == level.location_code, stock_level.c.sku == level.sku
            )
            .values(safety_stock=safety_stock, updated_at=now)
        )
        self._touch(level, before, "safety_stock")

    def _touch(self, level: StockLevel, available_before: int, reason: str) -> None:
        entry = self.touched.setdefault(level.key, TouchedLevel(level, available_before))
        entry.level = level
        entry.reasons.append(reason)

    async def network_available(self, skus: Iterable[str]) -> dict[str, int]:
        """Available units per SKU over every active location."""
        rows = await self._session.execute(
            select(stock_level.c.sku, func.sum(stock_level.c.available))
            .join(location, location.c.code == stock_level.c.location_code)
            .where(stock_level.c.sku.in_(set(skus)), location.c.active)
            .group_by(stock_level.c.sku)
        )
        return {sku: int(total or 0) for sku, total in rows}

    async def thresholds(self, skus: Iterable[str]) -> dict[str, int]:
        rows = await self._session.execute(
            select(sku_policy.c.sku, sku_policy.c.low_stock_threshold).where(
                sku_policy.c.sku.in_(set(skus)), sku_policy.c.low_stock_threshold.is_not(None)
            )
        )
        return {sku: int(t) for sku, t in rows}

    async def set_threshold(self, sku: str, threshold: int | None, *, now: datetime) -> None:
        statement = pg_insert(sku_policy).values(
            sku=sku, low_stock_threshold=threshold, updated_at=now
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[sku_policy.c.sku],
                set_={"low_stock_threshold": threshold, "updated_at": now},
            )
        )


class InboundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_for_update(
        self, inbound_id: UUID, *, within: frozenset[str] | None = None
    ) -> Inbound | None:
        """The delivery, locked, if it exists and is due at a location `within` the caller's
        locations (None: any)."""
        row = (
            await self._session.execute(
                select(inbound)
                .where(
                    inbound.c.id == inbound_id, narrowing.within(inbound.c.location_code, within)
                )
                .with_for_update()
            )
        ).first()
        return mappers.inbound(row) if row else None

    async def add(self, item: Inbound) -> None:
        await self._session.execute(insert(inbound).values(**mappers.inbound_values(item)))

    async def save(self, item: Inbound) -> None:
        await self._session.execute(
            update(inbound).where(inbound.c.id == item.id).values(**mappers.inbound_values(item))
        )

    async def incoming(self, keys: Iterable[Key]) -> dict[Key, list[Incoming]]:
        keys = set(keys)
        if not keys:
            return {}
        remaining = inbound.c.quantity - inbound.c.received_quantity - inbound.c.cancelled_quantity
        rows = await self._session.execute(
            select(inbound.c.location_code, inbound.c.sku, inbound.c.expected_at, remaining)
            .where(
                inbound.c.status == "open", tuple_(inbound.c.location_code, inbound.c.sku).in_(keys)
            )
            .order_by(inbound.c.expected_at)
        )
        found: dict[Key, list[Incoming]] = defaultdict(list)
        for code, sku, expected_at, quantity in rows:
            found[(code, sku)].append(Incoming(expected_at, int(quantity)))
        return found


class ReservationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def exists(self, reservation_id: UUID) -> bool:
        found = await self._session.scalar(
            select(reservation.c.id).where(reservation.c.id == reservation_id)
        )
        return found is not None

    async def stock_keys(self, reservation_ids: Iterable[UUID]) -> list[Key]:
        """The stock rows these reservations touch (fixed at creation, so safe to read unlocked)."""
        rows = await self._session.execute(
            select(reservation_line.c.location_code, reservation_line.c.sku)
            .where(
                reservation_line.c.reservation_id.in_(set(reservation_ids)),
                reservation_line.c.location_code.is_not(None),
            )
            .distinct()
        )
        return sorted((code, sku) for code, sku in rows)

    async def ids_of_order(self, order_id: UUID) -> list[UUID]:
        rows = await self._session.execute(
            select(reservation.c.id)
            .where(reservation.c.order_id == order_id)
            .order_by(reservation.c.created_at, reservation.c.id)
        )
        return list(rows.scalars())

    async def get_for_update(self, reservation_id: UUID) -> Reservation | None:
        """Lock the reservation; callers hold its stock rows first (see the lock order)."""
        found = await self.get_many_for_update([reservation_id])
        return found[0] if found else None

    async def get_many_for_update(self, ids: Sequence[UUID]) -> list[Reservation]:
        rows = (
            await self._session.execute(
                select(reservation)
                .where(reservation.c.id.in_(set(ids)))
                .order_by(reservation.c.id)
                .with_for_update()
            )
        ).all()
        if not rows:
            return []
        lines: dict[UUID, list[ReservationLine]] = defaultdict(list)
        for ln in await self._session.execute(
            select(reservation_line)
            .where(reservation_line.c.reservation_id.in_([r.id for r in rows]))
            .order_by(reservation_line.c.reservation_id, reservation_line.c.line_no)
        ):
            lines[ln.reservation_id].append(mappers.line(ln))
        return [mappers.reservation(r, lines[r.id]) for r in rows]

    async def waiting(self, keys: Iterable[Key]) -> dict[Key, int]:
        """Backordered units per stock row: their first claim on its incoming stock."""
        keys = set(keys)
        if not keys:
            return {}
        rows = await self._session.execute(
            select(
                reservation_line.c.location_code,
                reservation_line.c.sku,
                func.sum(reservation_line.c.backordered),
            )
            .where(
                reservation_line.c.backordered > 0,
                tuple_(reservation_line.c.location_code, reservation_line.c.sku).in_(keys),
            )
            .group_by(reservation_line.c.location_code, reservation_line.c.sku)
        )
        return {(code, sku): int(total) for code, sku, total in rows}

    async def queue(self, key: Key) -> list[WaitingLine]:
        """The lines waiting for stock at one row, with what orders the queue."""
        rows = await self._session.execute(
            select(
                reservation_line.c.reservation_id,
                reservation_line.c.line_no,
                reservation_line.c.backordered,
                reservation.c.priority,
                reservation.c.ordered_at,
                reservation.c.created_at,
            )
            .join(reservation, reservation.c.id == reservation_line.c.reservation_id)
            .where(
                reservation_line.c.backordered > 0,
                reservation_line.c.location_code == key[0],
                reservation_line.c.sku == key[1],
            )
        )
        return [WaitingLine(*row) for row in rows]

    async def add(self, res: Reservation, *, now: datetime) -> None:
        await self._session.execute(
            insert(reservation).values(
                **mappers.reservation_values(res), created_at=res.created_at, updated_at=now
            )
        )
        await self._session.execute(
            insert(reservation_line), [mappers.line_values(res.id, ln) for ln in res.lines]
        )

    async def save(self, res: Reservation, *, now: datetime) -> None:
        await self._session.execute(
            update(reservation)
            .where(reservation.c.id == res.id)
            .values(**mappers.reservation_values(res), updated_at=now)
        )
        for ln in res.lines:
            await self._session.execute(
                update(reservation_line)
                .where(
                    reservation_line.c.reservation_id == res.id,
                    reservation_line.c.line_no == ln.line_no,
                )
                .values(
                    held=ln.held,
                    backordered=ln.backordered,
                    committed=ln.committed,
                    released=ln.released,
                )
            )
