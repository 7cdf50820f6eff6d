"""The inbox: one row per (consumer, event id), written in the handler's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Table, TextClause
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.arrays import unnest_insert
from libs.db.driver import fetch


@dataclass(frozen=True)
class InboxEntry:
    consumer: str
    event_id: str
    event_type: str
    topic: str


async def record_once(session: AsyncSession, table: Table, entry: InboxEntry) -> bool:
    """True the first time this consumer sees the event; False for a redelivery or duplicate."""
    return bool(await record_new(session, table, [entry]))


async def record_new(
    session: AsyncSession, table: Table, entries: Sequence[InboxEntry]
) -> set[str]:
    """Records every entry in one statement (on the driver: libs.db.driver); returns the
    event ids seen here for the first time (a redelivered one, or one twice in `entries`,
    is not new)."""
    if not entries:
        return set()
    unique = list({(e.consumer, e.event_id): e for e in entries}.values())
    rows = await fetch(
        session,
        _insert_new(table.fullname),
        {
            "consumer": [e.consumer for e in unique],
            "event_id": [e.event_id for e in unique],
            "event_type": [e.event_type for e in unique],
            "topic": [e.topic for e in unique],
        },
    )
    return {row["event_id"] for row in rows}


@cache
def _insert_new(table: str) -> TextClause:
    return unnest_insert(
        table,
        {"consumer": "text", "event_id": "text", "event_type": "text", "topic": "text"},
        suffix="ON CONFLICT DO NOTHING RETURNING event_id",
    )
