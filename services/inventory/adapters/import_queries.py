"""Read-side SQL of stock imports: the import, its progress and its report."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from libs.http.pagination import InvalidCursor, decode_cursor, encode_cursor
from services.inventory.adapters.read_models import (
    ImportErrorView,
    ImportSummaryView,
    ImportView,
    PageOf,
)
from services.inventory.adapters.tables import stock_import, stock_import_error

FIRST_ERRORS = 50


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
    query = select(stock_import).order_by(
        stock_import.c.created_at.desc(), stock_import.c.id.desc()
    )
    if cursor:
        created_at, before = decode_cursor(cursor, arity=2)
        try:
            position = (datetime.fromisoformat(created_at), UUID(before))
        except (TypeError, ValueError) as exc:
            raise InvalidCursor("The cursor does not fit this list") from exc
        query = query.where(tuple_(stock_import.c.created_at, stock_import.c.id) < position)
    rows, next_cursor = await _page(
        session, query, limit, lambda r: [r.created_at.isoformat(), str(r.id)]
    )
    return PageOf([_summary(r) for r in rows], next_cursor)


async def import_errors(
    session: AsyncSession, import_id: UUID, *, limit: int, cursor: str | None
) -> PageOf[ImportErrorView]:
    """The import's bad rows by line number."""
    query = (
        select(stock_import_error.c.line_number, stock_import_error.c.message)
        .where(stock_import_error.c.import_id == import_id)
        .order_by(stock_import_error.c.line_number)
    )
    if cursor:
        (after,) = decode_cursor(cursor, arity=1)
        if not isinstance(after, int):
            raise InvalidCursor("The cursor does not fit this list")
        query = query.where(stock_import_error.c.line_number > after)
    rows, next_cursor = await _page(session, query, limit, lambda r: [r.line_number])
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


async def _page(
    session: AsyncSession, query: Select[Any], limit: int, key: Any
) -> tuple[list[Any], str | None]:
    rows = (await session.execute(query.limit(limit + 1))).all()
    page, more = rows[:limit], len(rows) > limit
    return page, encode_cursor(key(page[-1])) if more and page else None
