"""Stock imports' own rows: the import, its staged rows and its errors.

The apply job claims an import with a transaction-level advisory lock rather than a row lock
on `stock_import`: its progress is written to that row from a second connection while the
applying transaction is open, and a row lock would make those writes wait for the very
transaction reporting them. The advisory lock still goes when the transaction ends, also by
a crash, so an import left `applying` is free to be taken again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.inventory.adapters.tables import stock_import, stock_import_error, stock_import_row
from services.inventory.domain.import_rows import ImportFormat, RowError, StagedRow
from services.inventory.domain.imports import PENDING, ImportMode, ImportState, ImportStatus


class ImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, import_id: UUID, *, mode: ImportMode, fmt: ImportFormat, now: datetime
    ) -> None:
        await self._session.execute(
            insert(stock_import).values(
                id=import_id,
                status=ImportStatus.RECEIVING.value,
                mode=mode.value,
                format=fmt.value,
                created_at=now,
                updated_at=now,
            )
        )

    async def get(self, import_id: UUID) -> ImportState | None:
        row = (
            await self._session.execute(select(stock_import).where(stock_import.c.id == import_id))
        ).first()
        if row is None:
            return None
        return ImportState(
            id=row.id,
            status=ImportStatus(row.status),
            mode=ImportMode(row.mode),
            rows_received=row.rows_received,
            rows_invalid=row.rows_invalid,
        )

    async def pending(self, *, limit: int) -> list[UUID]:
        """Imports waiting for the apply job, oldest first."""
        rows = await self._session.execute(
            select(stock_import.c.id)
            .where(stock_import.c.status.in_([s.value for s in PENDING]))
            .order_by(stock_import.c.created_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def try_lock(self, import_id: UUID) -> bool:
        """Claim the import for this transaction; False if another worker holds it."""
        locked = await self._session.scalar(
            select(func.pg_try_advisory_xact_lock(func.hashtextextended(str(import_id), 0)))
        )
        return bool(locked)

    async def stage(self, import_id: UUID, rows: Sequence[StagedRow]) -> None:
        if rows:
            await self._session.execute(
                insert(stock_import_row),
                [
                    {
                        "import_id": import_id,
                        "line_number": r.line_number,
                        "location_code": r.location_code,
                        "sku": r.sku,
                        "on_hand": r.on_hand,
                        "safety_stock": r.safety_stock,
                    }
                    for r in rows
                ],
            )

    async def record_errors(self, import_id: UUID, errors: Iterable[RowError]) -> None:
        values = [
            {"import_id": import_id, "line_number": e.line_number, "message": e.message}
            for e in errors
        ]
        if values:
            await self._session.execute(insert(stock_import_error), values)

    async def count_received(
        self, import_id: UUID, *, received: int, invalid: int, now: datetime
    ) -> None:
        await self._update(
            import_id,
            rows_received=stock_import.c.rows_received + received,
            rows_invalid=stock_import.c.rows_invalid + invalid,
            updated_at=now,
        )

    async def queue(self, import_id: UUID, *, now: datetime) -> None:
        await self._update(import_id, status=ImportStatus.QUEUED.value, updated_at=now)

    async def complete(
        self, import_id: UUID, *, rows_applied: int, errors: Sequence[RowError], now: datetime
    ) -> None:
        await self.record_errors(import_id, errors)
        await self._update(
            import_id,
            status=ImportStatus.COMPLETED.value,
            rows_applied=rows_applied,
            rows_invalid=stock_import.c.rows_invalid + len(errors),
            updated_at=now,
            finished_at=now,
        )
        await self.drop_staged_rows(import_id)

    async def fail(
        self,
        import_id: UUID,
        *,
        reason: str,
        now: datetime,
        errors: Sequence[RowError] = (),
    ) -> None:
        """Nothing of the import is applied; its report keeps the errors found."""
        await self.record_errors(import_id, errors)
        await self._update(
            import_id,
            status=ImportStatus.FAILED.value,
            failure_reason=reason,
            rows_applied=0,
            rows_invalid=stock_import.c.rows_invalid + len(errors),
            updated_at=now,
            finished_at=now,
        )
        await self.drop_staged_rows(import_id)

    async def delete(self, import_id: UUID) -> None:
        """Gone with its staged rows and errors (a repeated upload under one key)."""
        await self._session.execute(delete(stock_import).where(stock_import.c.id == import_id))

    async def drop_staged_rows(self, import_id: UUID) -> None:
        await self._session.execute(
            delete(stock_import_row).where(stock_import_row.c.import_id == import_id)
        )

    async def _update(self, import_id: UUID, **values: Any) -> None:
        await self._session.execute(
            update(stock_import).where(stock_import.c.id == import_id).values(**values)
        )


class ImportProgress:
    """Writes an applying import's progress from its own connection, committed at once, so
    GET shows it while the applying transaction is still open."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    def beside(cls, session: AsyncSession) -> ImportProgress:
        bind = session.bind
        if not isinstance(bind, AsyncEngine):
            raise TypeError("progress needs the session's engine to open its own connection")
        return cls(bind)

    async def report(self, import_id: UUID, *, now: datetime, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(stock_import)
                .where(stock_import.c.id == import_id)
                .values(**values, updated_at=now)
            )
