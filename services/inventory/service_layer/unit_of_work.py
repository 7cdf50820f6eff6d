"""The abstract unit of work of inventory and the repository ports its handlers use.

Handlers take a `UnitOfWork`: adapters/unit_of_work.py implements it on PostgreSQL (bootstrap
hands that one to the bus), tests/inventory/unit/fakes.py in memory. Every port is a
Protocol, so an implementation only has to have the methods; the attributes are read-only
properties for the same reason (a repository may be any class that fits its port).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from libs.clock import Clock
from libs.db.idempotency import StoredOutcome
from services.inventory.domain.allocation import Incoming, Key
from services.inventory.domain.backorders import WaitingLine
from services.inventory.domain.events import InventoryEvent
from services.inventory.domain.import_rows import ImportFormat, RowError, StagedRow
from services.inventory.domain.imports import (
    ChangedRow,
    ImportMode,
    ImportState,
    ShortRow,
    SkuChange,
)
from services.inventory.domain.inbound import Inbound, OpenDelivery
from services.inventory.domain.locations import Location
from services.inventory.domain.reservation import Reservation
from services.inventory.domain.stock import Movement, StockFacts, StockLevel, TouchedLevel


class IdempotencyKeys(Protocol):
    async def replayed(
        self,
        *,
        scope: str,
        key: str | None,
        fingerprint: str,
        expected: StoredOutcome | None = None,
    ) -> StoredOutcome | None: ...

    async def complete(self, *, resource_id: str, status: int) -> None: ...


class Locations(Protocol):
    async def get(
        self, code: str, *, for_update: bool = False, within: frozenset[str] | None = None
    ) -> Location | None: ...

    async def add(self, loc: Location) -> None: ...

    async def save(self, loc: Location) -> None: ...

    async def existing(self, codes: Iterable[str]) -> set[str]: ...


class Stock(Protocol):
    """Stock rows (locked before they change, in the global order), their ledger, and what
    this transaction changed: served to waiting backorders and announced at commit."""

    @property
    def touched(self) -> dict[Key, TouchedLevel]: ...

    async def lock(
        self, keys: Iterable[Key], *, skus_shipped_from_anywhere: Iterable[str] = ()
    ) -> dict[Key, StockLevel]: ...

    async def lock_of_reservations(
        self, reservation_ids: Iterable[UUID]
    ) -> dict[Key, StockLevel]: ...

    async def lock_or_create(
        self, keys: Iterable[Key], *, now: datetime
    ) -> dict[Key, StockLevel]: ...

    async def apply(self, level: StockLevel, movement: Movement, *, now: datetime) -> int: ...

    async def take(self, holds: Mapping[Key, int], *, reference: str, now: datetime) -> bool: ...

    async def known_skus(self, skus: Iterable[str]) -> set[str]: ...

    async def has_movement(self, reference: str) -> bool: ...

    async def set_safety_stock(
        self, level: StockLevel, safety_stock: int, *, now: datetime
    ) -> None: ...

    async def set_threshold(self, sku: str, threshold: int | None, *, now: datetime) -> None: ...

    def adopt(self, touched: TouchedLevel) -> None: ...

    def unserved(self) -> dict[Key, TouchedLevel]: ...

    def served(self) -> None: ...

    async def facts(self) -> StockFacts: ...


class Deliveries(Protocol):
    async def get_for_update(
        self, inbound_id: UUID, *, within: frozenset[str] | None = None
    ) -> Inbound | None: ...

    async def add(self, item: Inbound) -> None: ...

    async def save(self, item: Inbound) -> None: ...

    async def open_deliveries(self, key: Key) -> list[OpenDelivery]: ...

    async def incoming(self, keys: Iterable[Key]) -> dict[Key, list[Incoming]]: ...


class Reservations(Protocol):
    async def exists(self, reservation_id: UUID) -> bool: ...

    async def ids_of_order(self, order_id: UUID) -> list[UUID]: ...

    async def get_for_update(self, reservation_id: UUID) -> Reservation | None: ...

    async def get_many_for_update(self, ids: Sequence[UUID]) -> list[Reservation]: ...

    async def waiting(self, keys: Iterable[Key]) -> dict[Key, int]: ...

    async def queues(self, keys: Iterable[Key]) -> dict[Key, list[WaitingLine]]: ...

    async def add(self, res: Reservation, *, now: datetime) -> bool: ...

    async def remove(self, reservation_id: UUID) -> None: ...

    async def save(self, res: Reservation, *, now: datetime) -> None: ...


class StockImports(Protocol):
    """Stock imports' own records: the import, its staged rows, its errors."""

    async def add(
        self, import_id: UUID, *, mode: ImportMode, fmt: ImportFormat, now: datetime
    ) -> None: ...

    async def get(self, import_id: UUID) -> ImportState | None: ...

    async def try_lock(self, import_id: UUID) -> bool: ...

    async def stage(self, import_id: UUID, rows: Sequence[StagedRow]) -> None: ...

    async def record_errors(self, import_id: UUID, errors: Iterable[RowError]) -> None: ...

    async def count_received(
        self, import_id: UUID, *, received: int, invalid: int, now: datetime
    ) -> None: ...

    async def queue(self, import_id: UUID, *, now: datetime) -> None: ...

    async def complete(
        self, import_id: UUID, *, rows_applied: int, errors: Sequence[RowError], now: datetime
    ) -> None: ...

    async def fail(
        self, import_id: UUID, *, reason: str, now: datetime, errors: Sequence[RowError] = ()
    ) -> None: ...

    async def delete(self, import_id: UUID) -> None: ...


class ImportBatch(Protocol):
    """One import's staged rows being applied inside this transaction, chunk by chunk."""

    async def prepare(self, import_id: UUID, *, chunk_rows: int) -> int: ...

    async def lock_chunk(self, chunk: int, *, now: datetime) -> int: ...

    async def below_reserved(self, chunk: int) -> list[ShortRow]: ...

    async def drop_lines(self, lines: Sequence[int]) -> None: ...

    async def apply_chunk(self, chunk: int, *, reference: str, now: datetime) -> None: ...

    async def changed_skus(self) -> list[SkuChange]: ...

    def changed_rows(self, *, page_size: int) -> AsyncIterator[list[ChangedRow]]: ...


class ImportProgress(Protocol):
    """An applying import's progress, visible before its transaction commits."""

    async def report(self, import_id: UUID, *, now: datetime, **values: object) -> None: ...


class Savepoint(Protocol):
    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWork(Protocol):
    """One transaction of inventory: the repositories, the domain events recorded in it,
    one commit. After each command the bus calls `stage()`; `commit()` ends the transaction
    (every stock change served to waiting backorders and announced first)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def locations(self) -> Locations: ...

    @property
    def stock(self) -> Stock: ...

    @property
    def inbound(self) -> Deliveries: ...

    @property
    def reservations(self) -> Reservations: ...

    @property
    def imports(self) -> StockImports: ...

    @property
    def in_locked_batch(self) -> bool:
        """Whether a consumer's batch locked its stock rows before its commands ran."""
        ...

    def record(self, *events: InventoryEvent) -> None:
        """Domain events that happened in this transaction, published at commit."""

    def collect_new_events(self) -> list[InventoryEvent]:
        """The events recorded since the last call (they leave the unit of work)."""
        ...

    async def write_events_now(self, events: Sequence[InventoryEvent]) -> None:
        """Published with this transaction, but written now rather than held until the
        commit (a stock import's thousands of events, page by page)."""

    def import_batch(self) -> ImportBatch: ...

    def import_progress(self) -> ImportProgress: ...

    async def savepoint(self) -> Savepoint: ...

    async def stage(self) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
