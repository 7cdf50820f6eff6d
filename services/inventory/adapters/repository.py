"""Locations, stock levels, inbound deliveries and reservations: all aggregate SQL of inventory.

Lock order, the same everywhere so that concurrent writers never deadlock:
inbound row -> stock rows (sorted by location code, then SKU) -> reservation rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Insert,
    Integer,
    Select,
    Text,
    Update,
    Uuid,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import narrowing
from libs.db.arrays import column_arrays, types_of, unnest_select
from libs.db.driver import execute, fetch, fields
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
from services.inventory.domain.inbound import Inbound, OpenDelivery
from services.inventory.domain.locations import Capability, Location
from services.inventory.domain.reservation import Reservation, ReservationLine
from services.inventory.domain.stock import Movement, Reason, StockFacts, StockLevel, TouchedLevel


class LocationRepository:
    def __init__(
        self, session: AsyncSession, *, on_save: Callable[[], None] = lambda: None
    ) -> None:
        """`on_save` hears of every changed location (a stock row's facts may depend on it)."""
        self._session = session
        self._on_save = on_save

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
        self._on_save()

    async def existing(self, codes: Iterable[str]) -> set[str]:
        rows = await self._session.execute(
            select(location.c.code).where(location.c.code.in_(set(codes)))
        )
        return set(rows.scalars())


@dataclass(frozen=True)
class _Taken:
    """One row a late-lock reservation took units from, and how to put it back."""

    key: Key
    quantity: int
    movement_id: int
    touched_before: TouchedLevel | None


_LEDGER_COLUMNS = [
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
]


class StockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.touched: dict[Key, TouchedLevel] = {}
        # The rows changed since their waiting backorders were last served: every command
        # is followed by serving (see stock_effects), and only the rows it changed can have
        # freed anything; `touched` keeps the whole transaction's, announced at commit.
        self._unserved: set[Key] = set()
        # Read by the statement that changed a row (see _change), so that announcing the
        # changes at commit needs no query of its own; the last statement of a SKU has seen
        # every earlier change of this transaction. Forgotten whenever something changes
        # them another way: announcing then asks the database.
        self._network: dict[str, int] = {}
        self._thresholds: dict[str, int | None] = {}
        self._active: dict[str, bool] = {}
        # The rows a consumer's batch locked (lock_batch), as this transaction leaves them,
        # and what they were when locked. Reservations taken from them are decided here and
        # written at flush() in one statement, not one UPDATE per row per order. Empty
        # outside such a batch, and emptied by any other way of changing stock.
        self._locked: dict[Key, StockLevel] = {}
        self._as_locked: dict[Key, tuple[int, int]] = {}
        self._ledger: list[dict[str, Any]] = []

    async def lock_batch(self, keys: Iterable[Key]) -> None:
        """Lock the rows a consumer's batch of reservations takes from, in the global order,
        and learn what announcing their changes needs (each SKU's network availability, its
        threshold, whether each location is active): from here to the commit the rows change
        only through this transaction, so its takes are decided in memory (take) and the
        network figures follow them, without a statement per row."""
        levels = await self.lock(keys)
        self._locked = levels
        self._as_locked = {key: (lv.on_hand, lv.reserved) for key, lv in levels.items()}
        await self._learn_facts({sku for _, sku in levels}, {code for code, _ in levels})

    async def flush(self) -> None:
        """Write the takes decided in memory: every changed row and its ledger rows in one
        statement. Each row is set to its new counters only if it still holds those it was
        locked with, so a row changed some other way fails the transaction, not the stock."""
        staged = {(row["location_code"], row["sku"]) for row in self._ledger}
        changed = [key for key in self._locked if key in staged]  # in the lock order
        if not changed:
            return
        ledger, self._ledger = self._ledger, []
        at = ledger[-1]["occurred_at"]
        params = {
            "row_code": [code for code, _ in changed],
            "row_sku": [sku for _, sku in changed],
            "was_on_hand": [self._as_locked[key][0] for key in changed],
            "was_reserved": [self._as_locked[key][1] for key in changed],
            "new_on_hand": [self._locked[key].on_hand for key in changed],
            "new_reserved": [self._locked[key].reserved for key in changed],
            "at": at,
            **{f"m_{k}": v for k, v in column_arrays(ledger, _LEDGER_TYPES).items()},
        }
        written = await fetch(self._session, _WRITE_TAKEN, params)
        if written[0]["rows"] != len(changed):
            raise RuntimeError("a locked stock row changed outside its transaction's takes")
        for key in changed:
            self._as_locked[key] = (self._locked[key].on_hand, self._locked[key].reserved)

    async def _stop_staging(self) -> None:
        """Another way of changing stock is about to run: the takes decided so far are
        written, and later ones go row by row, as outside a batch."""
        await self.flush()
        self._locked, self._as_locked = {}, {}

    def _take_locked(self, holds: Mapping[Key, int], *, reference: str, now: datetime) -> bool:
        """take() on rows this batch locked: all or none, decided on the counters held here."""
        if any(self._locked[key].available < units for key, units in holds.items()):
            return False
        for key in sorted(holds):
            level = self._locked[key]
            before = level.available
            level.apply(Movement(Reason.RESERVED, reserved_delta=holds[key], reference=reference))
            self._ledger.append(
                {
                    "location_code": key[0],
                    "sku": key[1],
                    "on_hand_delta": 0,
                    "reserved_delta": holds[key],
                    "on_hand_after": level.on_hand,
                    "reserved_after": level.reserved,
                    "reason": Reason.RESERVED.value,
                    "reference": reference,
                    "note": None,
                    "occurred_at": now,
                }
            )
            self._record(level, before, Reason.RESERVED.value)
            # The network total counts active locations only (see _learn_facts).
            if self._active.get(key[0]) and key[1] in self._network:
                self._network[key[1]] += level.available - before
        return True

    async def lock(
        self, keys: Iterable[Key], *, skus_shipped_from_anywhere: Iterable[str] = ()
    ) -> dict[Key, StockLevel]:
        """Lock the named rows, plus every row of the given SKUs at active shipping
        locations, in one statement and in the global order."""
        await self._stop_staging()
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

    async def lock_of_reservations(self, reservation_ids: Iterable[UUID]) -> dict[Key, StockLevel]:
        """Lock the rows these reservations' lines hold stock at (fixed when they were made),
        in the global order, in one statement."""
        await self._stop_staging()
        keys = select(reservation_line.c.location_code, reservation_line.c.sku).where(
            reservation_line.c.reservation_id.in_(set(reservation_ids)),
            reservation_line.c.location_code.is_not(None),
        )
        rows = await self._session.execute(
            select(stock_level)
            .where(tuple_(stock_level.c.location_code, stock_level.c.sku).in_(keys))
            .order_by(stock_level.c.location_code, stock_level.c.sku)
            .with_for_update(of=stock_level)
        )
        return {(r.location_code, r.sku): mappers.level(r) for r in rows}

    async def lock_or_create(self, keys: Iterable[Key], *, now: datetime) -> dict[Key, StockLevel]:
        """Lock these rows, creating empty ones for pairs never stocked before."""
        await self._stop_staging()
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
        await self._stop_staging()
        before = level.available
        level.apply(movement)
        changed = (
            await self._session.execute(
                _TAKE if movement.takes_available else _CHANGE,
                _change_params(level.key, movement, now),
            )
        ).one_or_none()
        if changed is None or (changed.on_hand, changed.reserved) != (
            level.on_hand,
            level.reserved,
        ):
            raise RuntimeError(f"stock row {level.key} changed under its lock")
        self._touch(level, before, movement.reason.value, changed)
        return int(changed.movement_id)

    async def take(self, holds: Mapping[Key, int], *, reference: str, now: datetime) -> bool:
        """Hold units on rows read by nobody beforehand: one conditional UPDATE per row (with
        its ledger row), in the global lock order, so each row is locked only from here to
        the commit. All rows or none: when one is short, the rows taken before it are put
        back as they were (their ledger rows removed, as this transaction never happened
        for them) and False is returned; the caller then decides under locks instead.
        """
        if self._locked and all(key in self._locked for key in holds):
            return self._take_locked(holds, reference=reference, now=now)
        await self._stop_staging()
        taken: list[_Taken] = []
        for key in sorted(holds):
            movement = Movement(Reason.RESERVED, reserved_delta=holds[key], reference=reference)
            touched_before = self._copy_of_touched(key)
            # On the driver (libs.db.driver): this runs for every line of every order.
            found = await fetch(self._session, _TAKE, _change_params(key, movement, now))
            changed = fields(found[0]) if found else None
            if changed is None:
                await self._put_back(taken, now=now)
                return False
            level = StockLevel(
                key[0], key[1], changed.on_hand, changed.reserved, changed.safety_stock
            )
            before = replace(level, reserved=level.reserved - holds[key]).available
            self._touch(level, before, Reason.RESERVED.value, changed)
            taken.append(_Taken(key, holds[key], int(changed.movement_id), touched_before))
        return True

    async def _put_back(self, taken: Sequence[_Taken], *, now: datetime) -> None:
        for t in reversed(taken):
            await self._session.execute(
                update(stock_level)
                .where(stock_level.c.location_code == t.key[0], stock_level.c.sku == t.key[1])
                .values(reserved=stock_level.c.reserved - t.quantity, updated_at=now)
            )
            await self._session.execute(
                delete(stock_movement).where(stock_movement.c.id == t.movement_id)
            )
            if t.touched_before is None:
                del self.touched[t.key]
            else:
                self.touched[t.key] = t.touched_before
            self._forget(t.key)

    def _copy_of_touched(self, key: Key) -> TouchedLevel | None:
        found = self.touched.get(key)
        if found is None:
            return None
        return TouchedLevel(replace(found.level), found.available_before, list(found.reasons))

    async def known_skus(self, skus: Iterable[str]) -> set[str]:
        """The SKUs with a stock row anywhere."""
        await self.flush()
        rows = await self._session.execute(
            select(stock_level.c.sku).where(stock_level.c.sku.in_(set(skus))).distinct()
        )
        return set(rows.scalars())

    async def has_movement(self, reference: str) -> bool:
        await self.flush()
        found = await self._session.scalar(
            select(stock_movement.c.id).where(stock_movement.c.reference == reference).limit(1)
        )
        return found is not None

    async def set_safety_stock(
        self, level: StockLevel, safety_stock: int, *, now: datetime
    ) -> None:
        await self._stop_staging()
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

    def adopt(self, touched: TouchedLevel) -> None:
        """A row changed set-wise (a stock import), to be served and announced at commit."""
        if self._locked:
            raise RuntimeError("a set-wise stock change inside a consumer's batch of takes")
        self.touched[touched.level.key] = touched
        self._unserved.add(touched.level.key)
        self._forget(touched.level.key)

    def _touch(
        self, level: StockLevel, available_before: int, reason: str, changed: Any = None
    ) -> None:
        self._record(level, available_before, reason)
        if changed is None:
            self._forget(level.key)
            return
        code, sku = level.key
        self._active[code] = bool(changed.active)
        self._thresholds[sku] = changed.threshold
        self._network[sku] = int(changed.others) + (level.available if changed.active else 0)

    def _record(self, level: StockLevel, available_before: int, reason: str) -> None:
        """The row is among those this transaction changed, for announcing at commit."""
        entry = self.touched.setdefault(level.key, TouchedLevel(level, available_before))
        entry.level = level
        entry.reasons.append(reason)
        self._unserved.add(level.key)

    def unserved(self) -> dict[Key, TouchedLevel]:
        """The changed rows whose waiting backorders have not been served since they changed."""
        return {key: found for key in self._unserved if (found := self.touched.get(key))}

    def served(self) -> None:
        self._unserved.clear()

    def _forget(self, key: Key) -> None:
        self._network.pop(key[1], None)
        self._active.pop(key[0], None)

    def forget_facts(self) -> None:
        """Something the facts depend on changed (a location's `active`, a threshold)."""
        self._network.clear()
        self._thresholds.clear()
        self._active.clear()

    def settled(self) -> None:
        self.touched.clear()
        self._unserved.clear()
        if not self._locked:
            # Rows a batch holds locked change only through it, and their SKUs' facts are
            # kept up to date by its takes (_take_locked) for the batch's next commands.
            self.forget_facts()

    async def facts(self) -> StockFacts:
        """The network availability and threshold of every changed SKU and which changed
        rows' locations are active: from the statements that made the changes, or (for what
        they did not tell) asked in one query."""
        skus = {sku for _, sku in self.touched}
        codes = {code for code, _ in self.touched}
        await self._learn_facts(skus, codes)
        return StockFacts(
            network_available={s: self._network.get(s, 0) for s in skus},
            thresholds={s: t for s in skus if (t := self._thresholds.get(s)) is not None},
            active={c for c in codes if self._active.get(c, False)},
        )

    async def _learn_facts(self, skus: set[str], codes: set[str]) -> None:
        """Ask, in one query each, for the facts of these SKUs and locations not known yet."""
        unknown = {s for s in skus if s not in self._network or s not in self._thresholds}
        if unknown:
            await self.flush()
            rows = await self._session.execute(
                select(
                    stock_level.c.sku,
                    func.coalesce(func.sum(stock_level.c.available).filter(location.c.active), 0),
                    select(sku_policy.c.low_stock_threshold)
                    .where(sku_policy.c.sku == stock_level.c.sku)
                    .scalar_subquery(),
                )
                .join(location, location.c.code == stock_level.c.location_code)
                .where(stock_level.c.sku.in_(unknown))
                .group_by(stock_level.c.sku)
            )
            for sku, total, threshold in rows:
                self._network[sku] = int(total)
                self._thresholds[sku] = threshold
        if codes - set(self._active):
            active = await self._session.execute(
                select(location.c.code, location.c.active).where(
                    location.c.code.in_(codes - set(self._active))
                )
            )
            self._active.update({code: bool(flag) for code, flag in active})

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
        self._thresholds.pop(sku, None)


def _change_statement(*, guarded: bool) -> Select[Any]:
    """One statement: change a stock row, write its ledger row, and read what announcing the
    change needs (the SKU's available units at the other active locations, the location's
    `active`, the SKU's threshold). Guarded, the row changes only if it has the units
    (`available >= reserved_delta`); no row comes back otherwise.

    The subqueries see the database as the statement began: the other rows as this
    transaction has left them, this row before the change (it is excluded, and added from
    its new counters by the caller).

    Built once with bound parameters: building it per call cost more CPU (1.7 ms) than
    everything else a reservation does. The parameters' names differ from every column's,
    or SQLAlchemy would take them for values to SET.
    """
    code, sku = bindparam("p_code", type_=Text), bindparam("p_sku", type_=Text)
    on_hand_delta = bindparam("p_on_hand_delta", type_=Integer)
    reserved_delta = bindparam("p_reserved_delta", type_=Integer)
    now = bindparam("p_now", type_=DateTime(timezone=True))
    available = stock_level.c.on_hand - stock_level.c.reserved - stock_level.c.safety_stock
    changed = (
        update(stock_level)
        .where(
            stock_level.c.location_code == code,
            stock_level.c.sku == sku,
            *([available >= reserved_delta] if guarded else []),
        )
        .values(
            on_hand=stock_level.c.on_hand + on_hand_delta,
            reserved=stock_level.c.reserved + reserved_delta,
            updated_at=now,
        )
        .returning(stock_level.c.on_hand, stock_level.c.reserved, stock_level.c.safety_stock)
        .cte("changed")
    )
    ledger = (
        insert(stock_movement)
        .from_select(
            _LEDGER_COLUMNS,
            select(
                code,
                sku,
                on_hand_delta,
                reserved_delta,
                changed.c.on_hand,
                changed.c.reserved,
                bindparam("p_reason", type_=Text),
                bindparam("p_reference", type_=Text),
                bindparam("p_note", type_=Text),
                now,
            ),
        )
        .returning(stock_movement.c.id)
        .cte("ledger")
    )
    other = stock_level.alias("other")
    others = (
        select(func.coalesce(func.sum(other.c.available), literal_column("0")))
        .join_from(other, location, location.c.code == other.c.location_code)
        .where(other.c.sku == sku, other.c.location_code != code, location.c.active)
        .scalar_subquery()
    )
    return select(
        ledger.c.id.label("movement_id"),
        changed.c.on_hand,
        changed.c.reserved,
        changed.c.safety_stock,
        others.label("others"),
        select(location.c.active).where(location.c.code == code).scalar_subquery().label("active"),
        select(sku_policy.c.low_stock_threshold)
        .where(sku_policy.c.sku == sku)
        .scalar_subquery()
        .label("threshold"),
    ).select_from(changed.join(ledger, true()))


_CHANGE = _change_statement(guarded=False)
_TAKE = _change_statement(guarded=True)

_LEDGER_TYPES = types_of(stock_movement, _LEDGER_COLUMNS)

# StockRepository.flush: the rows a batch took from, set to their new counters where they
# still hold the ones they were locked with, and every take's ledger row.
_WRITE_TAKEN = text(
    f"""
    WITH changed AS (
        UPDATE stock_level AS s
        SET on_hand = d.on_hand, reserved = d.reserved, updated_at = CAST(:at AS timestamptz)
        FROM unnest(CAST(:row_code AS text[]), CAST(:row_sku AS text[]),
                    CAST(:was_on_hand AS int[]), CAST(:was_reserved AS int[]),
                    CAST(:new_on_hand AS int[]), CAST(:new_reserved AS int[]))
             AS d(code, sku, was_on_hand, was_reserved, on_hand, reserved)
        WHERE s.location_code = d.code AND s.sku = d.sku
          AND s.on_hand = d.was_on_hand AND s.reserved = d.was_reserved
        RETURNING 1
    ), ledger AS (
        INSERT INTO stock_movement ({", ".join(_LEDGER_TYPES)})
        {unnest_select(_LEDGER_TYPES, prefix="m_")}
    )
    SELECT count(*) AS rows FROM changed
    """
)


def _change_params(key: Key, movement: Movement, now: datetime) -> dict[str, Any]:
    return {
        "p_code": key[0],
        "p_sku": key[1],
        "p_on_hand_delta": movement.on_hand_delta,
        "p_reserved_delta": movement.reserved_delta,
        "p_reason": movement.reason.value,
        "p_reference": movement.reference,
        "p_note": movement.note,
        "p_now": now,
    }


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

    async def open_deliveries(self, key: Key) -> list[OpenDelivery]:
        """The deliveries still expected at one stock row, soonest first."""
        remaining = inbound.c.quantity - inbound.c.received_quantity - inbound.c.cancelled_quantity
        rows = await self._session.execute(
            select(inbound.c.id, remaining, inbound.c.expected_at)
            .where(
                inbound.c.status == "open",
                inbound.c.location_code == key[0],
                inbound.c.sku == key[1],
            )
            .order_by(inbound.c.expected_at, inbound.c.id)
        )
        return [OpenDelivery(id_, int(quantity), at) for id_, quantity, at in rows]

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


_RESERVATION_COLUMNS = [c.name for c in reservation.columns]
_LINE_COLUMNS = [c.name for c in reservation_line.columns if c.name != "reservation_id"]


def _add_reservation_statement() -> Insert:
    """INSERT the reservation unless its id exists, and its lines from one array per column
    (unnest): one round trip, and one statement text whatever the number of lines."""
    made = (
        pg_insert(reservation)
        .values({c: bindparam(f"r_{c}", type_=reservation.c[c].type) for c in _RESERVATION_COLUMNS})
        .on_conflict_do_nothing(index_elements=[reservation.c.id])
        .returning(reservation.c.id)
        .cte("made")
    )
    given = (
        func.unnest(
            *(bindparam(f"l_{c}", type_=ARRAY(reservation_line.c[c].type)) for c in _LINE_COLUMNS)
        )
        .table_valued(*_LINE_COLUMNS)
        .render_derived(name="given")
    )
    return (
        insert(reservation_line)
        .from_select(
            ["reservation_id", *_LINE_COLUMNS],
            select(made.c.id, *(given.c[c] for c in _LINE_COLUMNS)).select_from(
                made.join(given, true())
            ),
        )
        .returning(reservation_line.c.line_no)
    )


_ADD_RESERVATION = _add_reservation_statement()
_HEAD_TYPES = types_of(reservation, _RESERVATION_COLUMNS)
_LINE_TYPES = types_of(reservation_line, ["reservation_id", *_LINE_COLUMNS])
_EXISTING_RESERVATIONS = text("SELECT id FROM reservation WHERE id = ANY(CAST(:ids AS uuid[]))")
# ReservationRepository.flush: a batch's new reservations and their lines, in one statement
# (the lines' foreign key is checked at its end).
_ADD_RESERVATIONS = text(
    f"WITH made AS (INSERT INTO reservation ({', '.join(_HEAD_TYPES)}) "
    f"{unnest_select(_HEAD_TYPES, prefix='r_')}) "
    f"INSERT INTO reservation_line ({', '.join(_LINE_TYPES)}) "
    f"{unnest_select(_LINE_TYPES, prefix='l_')}"
)
_BUCKETS = ("held", "backordered", "committed", "released")


def _save_reservation_statement() -> Update:
    """UPDATE the reservation and, from one array per column (unnest), its lines' buckets:
    one round trip, and one statement text whatever the number of lines."""
    header = (
        update(reservation)
        .where(reservation.c.id == bindparam("r_id", type_=Uuid))
        .values(
            {
                c: bindparam(f"r_{c}", type_=reservation.c[c].type)
                for c in _RESERVATION_COLUMNS
                if c not in ("id", "created_at")
            }
        )
        .cte("header")
    )
    given = (
        func.unnest(
            *(bindparam(f"l_{c}", type_=ARRAY(Integer)) for c in ("line_no", *_BUCKETS)),
            bindparam("l_expected_at", type_=ARRAY(DateTime(timezone=True))),
        )
        .table_valued("line_no", *_BUCKETS, "expected_at")
        .render_derived(name="given")
    )
    return (
        update(reservation_line)
        .where(
            reservation_line.c.reservation_id == bindparam("r_id", type_=Uuid),
            reservation_line.c.line_no == given.c.line_no,
        )
        .values({c: given.c[c] for c in (*_BUCKETS, "expected_at")})
        .add_cte(header)
    )


_SAVE_RESERVATION = _save_reservation_statement()


class ReservationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # A consumer's batch of reservations (expect): the ids it names that were not there
        # when it began, and the rows of those it adds, all written at flush() in one
        # statement rather than one per reservation. Every read of reservations flushes first.
        self._absent: set[UUID] = set()
        self._added: dict[UUID, tuple[dict[str, Any], list[dict[str, Any]]]] = {}

    async def expect(self, reservation_ids: Iterable[UUID]) -> None:
        """A batch will add reservations with these ids: which of them exist is asked once."""
        wanted = set(reservation_ids)
        if not wanted:
            return
        await self.flush()
        there = await fetch(self._session, _EXISTING_RESERVATIONS, {"ids": list(wanted)})
        self._absent = wanted - {UUID(bytes=row["id"].bytes) for row in there}

    async def flush(self) -> None:
        if not self._added:
            return
        heads = [head for head, _ in self._added.values()]
        lines = [line for _, rows in self._added.values() for line in rows]
        self._added = {}
        params = {f"r_{k}": v for k, v in column_arrays(heads, _HEAD_TYPES).items()}
        params |= {f"l_{k}": v for k, v in column_arrays(lines, _LINE_TYPES).items()}
        await execute(self._session, _ADD_RESERVATIONS, params)

    async def exists(self, reservation_id: UUID) -> bool:
        await self.flush()
        found = await self._session.scalar(
            select(reservation.c.id).where(reservation.c.id == reservation_id)
        )
        return found is not None

    async def ids_of_order(self, order_id: UUID) -> list[UUID]:
        await self.flush()
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
        """Lock the reservations (in id order) and read them with their lines, in one
        statement."""
        await self.flush()
        rows = await self._session.execute(
            select(reservation, reservation_line)
            .join(reservation_line, reservation_line.c.reservation_id == reservation.c.id)
            .where(reservation.c.id.in_(set(ids)))
            .order_by(reservation.c.id, reservation_line.c.line_no)
            .with_for_update(of=reservation)
        )
        heads: dict[UUID, Any] = {}
        lines: dict[UUID, list[ReservationLine]] = defaultdict(list)
        for row in rows:
            heads.setdefault(row.id, row)
            lines[row.id].append(mappers.line(row))
        return [mappers.reservation(head, lines[rid]) for rid, head in heads.items()]

    async def waiting(self, keys: Iterable[Key]) -> dict[Key, int]:
        """Backordered units per stock row: their first claim on its incoming stock."""
        keys = set(keys)
        if not keys:
            return {}
        await self.flush()
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

    async def queues(self, keys: Iterable[Key]) -> dict[Key, list[WaitingLine]]:
        """The lines waiting for stock at these rows, with what orders each queue."""
        keys = set(keys)
        if not keys:
            return {}
        await self.flush()
        rows = await self._session.execute(
            select(
                reservation_line.c.location_code,
                reservation_line.c.sku,
                reservation_line.c.reservation_id,
                reservation_line.c.line_no,
                reservation_line.c.backordered,
                reservation.c.priority,
                reservation.c.ordered_at,
                reservation.c.created_at,
                reservation_line.c.expected_at,
            )
            .join(reservation, reservation.c.id == reservation_line.c.reservation_id)
            .where(
                reservation_line.c.backordered > 0,
                tuple_(reservation_line.c.location_code, reservation_line.c.sku).in_(keys),
            )
        )
        found: dict[Key, list[WaitingLine]] = defaultdict(list)
        for code, sku, *line in rows:
            found[(code, sku)].append(WaitingLine(*line))
        return found

    async def add(self, res: Reservation, *, now: datetime) -> bool:
        """Insert the reservation and its lines, in one statement; False (and nothing
        written) if one with its id exists already."""
        if res.id in self._absent:
            # Known not to be there when the batch began, and added once: written at flush.
            self._absent.discard(res.id)
            head = mappers.reservation_values(res) | {"created_at": res.created_at}
            head["updated_at"] = now
            self._added[res.id] = (head, [mappers.line_values(res.id, ln) for ln in res.lines])
            return True
        await self.flush()
        lines = [mappers.line_values(res.id, ln) for ln in res.lines]
        params = {f"r_{k}": v for k, v in mappers.reservation_values(res).items()}
        params |= {"r_created_at": res.created_at, "r_updated_at": now}
        params |= {f"l_{c}": [line[c] for line in lines] for c in _LINE_COLUMNS}
        # On the driver (libs.db.driver): a fixed statement every reservation runs.
        return bool(await fetch(self._session, _ADD_RESERVATION, params))

    async def remove(self, reservation_id: UUID) -> None:
        """Undo an `add` of this transaction (its lines go with it)."""
        if self._added.pop(reservation_id, None) is not None:
            self._absent.add(reservation_id)
            return
        await self._session.execute(delete(reservation).where(reservation.c.id == reservation_id))

    async def save(self, res: Reservation, *, now: datetime) -> None:
        """The reservation's state and every line's buckets, in one statement."""
        await self.flush()
        params = {f"r_{k}": v for k, v in mappers.reservation_values(res).items()}
        params["r_updated_at"] = now
        params |= {
            f"l_{c}": [getattr(ln, c) for ln in res.lines]
            for c in ("line_no", *_BUCKETS, "expected_at")
        }
        await execute(self._session, _SAVE_RESERVATION, params)
