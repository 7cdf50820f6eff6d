"""Versioned documents: a table of (version, body, created_at) where every change is a new
row, so whatever was decided under a version can name it (routing strategies, return
policies). Writers take turns under a table lock, so an If-Match check and the insert see
the same latest version."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.errors import PreconditionFailed


async def latest(session: AsyncSession, table: Table) -> Row[Any] | None:
    """The newest version's row, or None before the first PUT."""
    return (
        await session.execute(select(table).order_by(table.c.version.desc()).limit(1))
    ).one_or_none()


async def add_version(
    session: AsyncSession,
    table: Table,
    body: Mapping[str, Any],
    now: datetime,
    *,
    expected_version: int | None,
    default_version: int,
    what: str,
) -> int:
    """Store the next version (the default counts as `default_version` before any row);
    with an expected version that is no longer the latest, 412."""
    await session.execute(text(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE"))
    current = (await session.scalar(select(func.max(table.c.version)))) or default_version
    if expected_version is not None and expected_version != current:
        raise PreconditionFailed(f"the {what} is at version {current}")
    version = current + 1
    await session.execute(insert(table).values(version=version, body=dict(body), created_at=now))
    return version
