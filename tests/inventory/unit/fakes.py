"""Inventory's unit of work in memory, for handler tests without PostgreSQL or Kafka.

The repositories keep what a transaction would leave in the database, and hand out copies
(as rows read back would be), so a handler sees its changes only through the port's methods.
What the fakes do not model: locking and the database's constraints (the integration tests
cover those), and a rollback (nothing here is undone; a handler test commits or raises).
The set-wise import apply (import_batch, import_progress, savepoint) is SQL through and
through and is tested against PostgreSQL only.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self
from uuid import UUID

from libs.db.idempotency import StoredOutcome
from libs.errors import IdempotencyKeyReused
from services.inventory.domain.allocation import Incoming, Key
from services.inventory.domain.backorders import WaitingLine
from services.inventory.domain.events import InventoryEvent
from services.inventory.domain.import_rows import ImportFormat, RowError, StagedRow
from services.inventory.domain.imports import ImportMode, ImportState, ImportStatus
from services.inventory.domain.inbound import Inbound, InboundStatus, OpenDelivery
from services.inventory.domain.locations import Capability, Location
from services.inventory.domain.reservation import Reservation
from services.inventory.domain.stock import (
    Movement,
    Reason,
    StockFacts,
    StockLevel,
    TouchedLevel,
)
from services.inventory.service_layer.handlers.stock_effects import (
    announce_stock_changes,
    serve_backorders,
)
from services.inventory.service_layer.unit_of_work import (
    ImportBatch,
    ImportProgress,
    Savepoint,
    UnitOfWork,
)

_SHIPPING = {Capability.SHIP, Capability.SHIP_FROM_STORE}


class FakeClock:
    def __init__(self, start: datetime = datetime(2030, 1, 1, tzinfo=UTC)) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class FakeIdempotencyKeys:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], tuple[str, StoredOutcome]] = {}
        self._claimed: tuple[str, str] | None = None

    async def replayed(
        self,
        *,
        scope: str,
        key: str | None,
        fingerprint: str,
        expected: StoredOutcome | None = None,
    ) -> StoredOutcome | None:
        if not key:
            return None
        found = self.stored.get((scope, key))
        if found is None:
            self.stored[(scope, key)] = (fingerprint, expected or StoredOutcome(None, None))
            self._claimed = (scope, key)
            return None
        if found[0] != fingerprint:
            raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was already used")
        return found[1]

    async def complete(self, *, resource_id: str, status: int) -> None:
        if self._claimed is not None:
            fingerprint, _ = self.stored[self._claimed]
            self.stored[self._claimed] = (fingerprint, StoredOutcome(resource_id, status))


class FakeLocations:
    def __init__(self) -> None:
        self.rows: dict[str, Location] = {}

    async def get(
        self, code: str, *, for_update: bool = False, within: frozenset[str] | None = None
    ) -> Location | None:
        found = self.rows.get(code)
        if found is None or (within is not None and code not in within):
            return None
        return replace(found)

    async def add(self, loc: Location) -> None:
        self.rows[loc.code] = replace(loc)

    async def save(self, loc: Location) -> None:
        self.rows[loc.code] = replace(loc)

    async def existing(self, codes: Iterable[str]) -> set[str]:
        return {code for code in codes if code in self.rows}


@dataclass
class LedgerRow:
    id: int
    key: Key
    movement: Movement
    at: datetime


class FakeStock:
    def __init__(self, locations: FakeLocations, reservations: FakeReservations) -> None:
        self._locations = locations
        self._reservations = reservations
        self.levels: dict[Key, StockLevel] = {}
        self.ledger: list[LedgerRow] = []
        self.thresholds: dict[str, int | None] = {}
        self.touched: dict[Key, TouchedLevel] = {}
        self._unserved: set[Key] = set()

    async def lock(
        self, keys: Iterable[Key], *, skus_shipped_from_anywhere: Iterable[str] = ()
    ) -> dict[Key, StockLevel]:
        wanted = set(keys)
        skus = set(skus_shipped_from_anywhere)
        wanted |= {key for key in self.levels if key[1] in skus and self._ships(key[0])}
        return {key: replace(self.levels[key]) for key in sorted(wanted) if key in self.levels}

    def _ships(self, code: str) -> bool:
        location = self._locations.rows.get(code)
        return location is not None and location.active and bool(location.capabilities & _SHIPPING)

    async def lock_of_reservations(self, reservation_ids: Iterable[UUID]) -> dict[Key, StockLevel]:
        keys = {
            line.key
            for rid in reservation_ids
            if (res := self._reservations.rows.get(rid)) is not None
            for line in res.lines
            if line.location_code is not None
        }
        return await self.lock(keys)

    async def lock_or_create(self, keys: Iterable[Key], *, now: datetime) -> dict[Key, StockLevel]:
        keys = set(keys)
        for code, sku in keys:
            self.levels.setdefault((code, sku), StockLevel(code, sku))
        return await self.lock(keys)

    async def apply(self, level: StockLevel, movement: Movement, *, now: datetime) -> int:
        before = level.available
        level.apply(movement)
        self.levels[level.key] = replace(level)
        self.ledger.append(LedgerRow(len(self.ledger) + 1, level.key, movement, now))
        self._record(level, before, movement.reason.value)
        return len(self.ledger)

    async def take(self, holds: Mapping[Key, int], *, reference: str, now: datetime) -> bool:
        if any(
            key not in self.levels or self.levels[key].available < units
            for key, units in holds.items()
        ):
            return False
        for key in sorted(holds):
            movement = Movement(Reason.RESERVED, reserved_delta=holds[key], reference=reference)
            await self.apply(replace(self.levels[key]), movement, now=now)
        return True

    async def known_skus(self, skus: Iterable[str]) -> set[str]:
        stocked = {sku for _, sku in self.levels}
        return {sku for sku in skus if sku in stocked}

    async def has_movement(self, reference: str) -> bool:
        return any(row.movement.reference == reference for row in self.ledger)

    async def set_safety_stock(
        self, level: StockLevel, safety_stock: int, *, now: datetime
    ) -> None:
        before = level.available
        if level.set_safety_stock(safety_stock):
            self.levels[level.key] = replace(level)
            self._record(level, before, "safety_stock")

    async def set_threshold(self, sku: str, threshold: int | None, *, now: datetime) -> None:
        self.thresholds[sku] = threshold

    def adopt(self, touched: TouchedLevel) -> None:
        self.touched[touched.level.key] = touched
        self._unserved.add(touched.level.key)

    def _record(self, level: StockLevel, available_before: int, reason: str) -> None:
        entry = self.touched.setdefault(level.key, TouchedLevel(level, available_before))
        entry.level = replace(level)
        entry.reasons.append(reason)
        self._unserved.add(level.key)

    def unserved(self) -> dict[Key, TouchedLevel]:
        return {key: found for key in self._unserved if (found := self.touched.get(key))}

    def served(self) -> None:
        self._unserved.clear()

    def settled(self) -> None:
        self.touched.clear()
        self._unserved.clear()

    async def facts(self) -> StockFacts:
        skus = {sku for _, sku in self.touched}
        active = {code for code, loc in self._locations.rows.items() if loc.active}
        network: dict[str, int] = defaultdict(int)
        for (code, sku), level in self.levels.items():
            if sku in skus and code in active:
                network[sku] += level.available
        return StockFacts(
            network_available={sku: network[sku] for sku in skus},
            thresholds={s: t for s in skus if (t := self.thresholds.get(s)) is not None},
            active={code for code, _ in self.touched if code in active},
        )


class FakeDeliveries:
    def __init__(self) -> None:
        self.rows: dict[UUID, Inbound] = {}

    async def get_for_update(
        self, inbound_id: UUID, *, within: frozenset[str] | None = None
    ) -> Inbound | None:
        found = self.rows.get(inbound_id)
        if found is None or (within is not None and found.location_code not in within):
            return None
        return replace(found)

    async def add(self, item: Inbound) -> None:
        self.rows[item.id] = replace(item)

    async def save(self, item: Inbound) -> None:
        self.rows[item.id] = replace(item)

    def _open_at(self, key: Key) -> list[Inbound]:
        return sorted(
            (
                i
                for i in self.rows.values()
                if i.status is InboundStatus.OPEN and (i.location_code, i.sku) == key
            ),
            key=lambda i: (i.expected_at, i.id),
        )

    async def open_deliveries(self, key: Key) -> list[OpenDelivery]:
        return [OpenDelivery(i.id, i.remaining, i.expected_at) for i in self._open_at(key)]

    async def incoming(self, keys: Iterable[Key]) -> dict[Key, list[Incoming]]:
        found: dict[Key, list[Incoming]] = {}
        for key in set(keys):
            if deliveries := self._open_at(key):
                found[key] = [Incoming(i.expected_at, i.remaining) for i in deliveries]
        return found


class FakeReservations:
    def __init__(self) -> None:
        self.rows: dict[UUID, Reservation] = {}

    async def exists(self, reservation_id: UUID) -> bool:
        return reservation_id in self.rows

    async def ids_of_order(self, order_id: UUID) -> list[UUID]:
        mine = [r for r in self.rows.values() if r.order_id == order_id]
        return [r.id for r in sorted(mine, key=lambda r: (r.created_at, r.id))]

    async def get_for_update(self, reservation_id: UUID) -> Reservation | None:
        found = await self.get_many_for_update([reservation_id])
        return found[0] if found else None

    async def get_many_for_update(self, ids: Sequence[UUID]) -> list[Reservation]:
        return [copy.deepcopy(self.rows[rid]) for rid in sorted(set(ids)) if rid in self.rows]

    def _waiting_lines(self, keys: Iterable[Key]) -> list[tuple[Key, Reservation, int]]:
        wanted = set(keys)
        return [
            (line.key, res, i)
            for res in self.rows.values()
            for i, line in enumerate(res.lines)
            if line.backordered > 0 and line.location_code is not None and line.key in wanted
        ]

    async def waiting(self, keys: Iterable[Key]) -> dict[Key, int]:
        found: dict[Key, int] = defaultdict(int)
        for key, res, i in self._waiting_lines(keys):
            found[key] += res.lines[i].backordered
        return dict(found)

    async def queues(self, keys: Iterable[Key]) -> dict[Key, list[WaitingLine]]:
        found: dict[Key, list[WaitingLine]] = defaultdict(list)
        for key, res, i in self._waiting_lines(keys):
            line = res.lines[i]
            found[key].append(
                WaitingLine(
                    res.id,
                    line.line_no,
                    line.backordered,
                    res.priority,
                    res.ordered_at,
                    res.created_at,
                    line.expected_at,
                )
            )
        return dict(found)

    async def add(self, res: Reservation, *, now: datetime) -> bool:
        if res.id in self.rows:
            return False
        self.rows[res.id] = copy.deepcopy(res)
        return True

    async def remove(self, reservation_id: UUID) -> None:
        self.rows.pop(reservation_id, None)

    async def save(self, res: Reservation, *, now: datetime) -> None:
        self.rows[res.id] = copy.deepcopy(res)


@dataclass
class FakeImport:
    state: ImportState
    staged: list[StagedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    failure: str | None = None


class FakeStockImports:
    def __init__(self) -> None:
        self.rows: dict[UUID, FakeImport] = {}

    async def add(
        self, import_id: UUID, *, mode: ImportMode, fmt: ImportFormat, now: datetime
    ) -> None:
        self.rows[import_id] = FakeImport(
            ImportState(import_id, ImportStatus.RECEIVING, mode, 0, 0)
        )

    async def get(self, import_id: UUID) -> ImportState | None:
        found = self.rows.get(import_id)
        return found.state if found else None

    async def try_lock(self, import_id: UUID) -> bool:
        return True

    async def stage(self, import_id: UUID, rows: Sequence[StagedRow]) -> None:
        self.rows[import_id].staged.extend(rows)

    async def record_errors(self, import_id: UUID, errors: Iterable[RowError]) -> None:
        self.rows[import_id].errors.extend(errors)

    async def count_received(
        self, import_id: UUID, *, received: int, invalid: int, now: datetime
    ) -> None:
        found = self.rows[import_id]
        found.state = replace(
            found.state,
            rows_received=found.state.rows_received + received,
            rows_invalid=found.state.rows_invalid + invalid,
        )

    async def queue(self, import_id: UUID, *, now: datetime) -> None:
        self._status(import_id, ImportStatus.QUEUED)

    async def complete(
        self, import_id: UUID, *, rows_applied: int, errors: Sequence[RowError], now: datetime
    ) -> None:
        self.rows[import_id].errors.extend(errors)
        self._status(import_id, ImportStatus.COMPLETED)

    async def fail(
        self, import_id: UUID, *, reason: str, now: datetime, errors: Sequence[RowError] = ()
    ) -> None:
        self.rows[import_id].errors.extend(errors)
        self.rows[import_id].failure = reason
        self._status(import_id, ImportStatus.FAILED)

    async def delete(self, import_id: UUID) -> None:
        self.rows.pop(import_id, None)

    def _status(self, import_id: UUID, status: ImportStatus) -> None:
        found = self.rows[import_id]
        found.state = replace(found.state, status=status)


class FakeUnitOfWork:
    """One in-memory unit of work, used again for every command of a test (as a database
    outlives its transactions). `published` keeps every event staged, in order: what the
    outbox would hold after the commits."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.idempotency = FakeIdempotencyKeys()
        self.locations = FakeLocations()
        self.reservations = FakeReservations()
        self.stock = FakeStock(self.locations, self.reservations)
        self.inbound = FakeDeliveries()
        self.imports = FakeStockImports()
        self.in_locked_batch = False
        self.published: list[InventoryEvent] = []
        self.commits = 0
        self._recorded: list[InventoryEvent] = []

    def record(self, *events: InventoryEvent) -> None:
        self._recorded.extend(events)

    def collect_new_events(self) -> list[InventoryEvent]:
        recorded, self._recorded = self._recorded, []
        return recorded

    async def write_events_now(self, events: Sequence[InventoryEvent]) -> None:
        self.published.extend(events)

    def import_batch(self) -> ImportBatch:
        raise NotImplementedError("the set-wise import apply is tested against PostgreSQL")

    def import_progress(self) -> ImportProgress:
        raise NotImplementedError("the set-wise import apply is tested against PostgreSQL")

    async def savepoint(self) -> Savepoint:
        raise NotImplementedError("the set-wise import apply is tested against PostgreSQL")

    async def stage(self) -> None:
        # As the real unit of work: every command ends by serving the waiting backorders.
        await serve_backorders(self)
        self.published.extend(self.collect_new_events())

    async def commit(self) -> None:
        await self.stage()
        await announce_stock_changes(self)
        self.published.extend(self.collect_new_events())
        self.stock.settled()
        self.commits += 1

    async def rollback(self) -> None:
        self._recorded = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            await self.rollback()


def _implements(uow: FakeUnitOfWork) -> UnitOfWork:
    """Never called: mypy checks here that the fake fits the abstract unit of work."""
    return uow
