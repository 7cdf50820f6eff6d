"""Read-side SQL of stock imports: the import, its progress and its report."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.pagination import Keyset, by_datetime, by_int, by_uuid
from services.inventory.adapters.read_models import (
    ImportErrorView,
    ImportSummaryView,
    ImportView,
    PageOf,
)
from services.inventory.adapters.tables import stock_import, stock_import_error

FIRST_ERRORS = 50

IMPORTS = Keyset(
    by_datetime(stock_import.c.created_at), by_uuid(stock_import.c.id), descending=True
)
IMPORT_ERRORS = Keyset(by_int(stock_import_error.c.line_number))
"""An import's bad rows by line number (one error per line of an import)."""


async def get_import(session: AsyncSession, import_id: UUID) -> ImportView | None:
    row = (
        await session.execute(select(stock_import).where(stock_import.c.id == import_id))
    ).first()
    if row is None:
        return None
    errors = await import_errors(session, import_id, limit=FIRST_ERRORS, cursor=None)
    return ImportView(
        **vars(_summary(row)), errors=errors.items, errors_next_cursor=errors.next_cursor
    )


async def import_exists(session: AsyncSession, import_id: UUID) -> bool:
    found = await session.scalar(select(stock_import.c.id).where(stock_import.c.id == import_id))
    return found is not None


async def list_imports(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> PageOf[ImportSummaryView]:
    """Imports, newest first."""
    rows, next_cursor = await IMPORTS.page(
        session, select(stock_import), limit=limit, cursor=cursor
    )
    return PageOf([_summary(r) for r in rows], next_cursor)


async def import_errors(
    session: AsyncSession, import_id: UUID, *, limit: int, cursor: str | None
) -> PageOf[ImportErrorView]:
    """The import's bad rows by line number."""
    query = select(stock_import_error.c.line_number, stock_import_error.c.message).where(
        stock_import_error.c.import_id == import_id
    )
    rows, next_cursor = await IMPORT_ERRORS.page(session, query, limit=limit, cursor=cursor)
    return PageOf(
        [ImportErrorView(line_number=r.line_number, message=r.message) for r in rows],
        next_cursor,
    )


def _summary(r: Any) -> ImportSummaryView:
    return ImportSummaryView(
        id=r.id,
        status=r.status,
        mode=r.mode,
        format=r.format,
        rows_received=r.rows_received,
        rows_invalid=r.rows_invalid,
        rows_applied=r.rows_applied,
        failure_reason=r.failure_reason,
        created_at=r.created_at,
        updated_at=r.updated_at,
        finished_at=r.finished_at,
    )
