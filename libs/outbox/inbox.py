"""The inbox: one row per (consumer, event id), written in the handler's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class InboxEntry:
    consumer: str
    event_id: str
    event_type: str
    topic: str


async def record_once(session: AsyncSession, table: Table, entry: InboxEntry) -> bool:
    """True the first time this consumer sees the event; False for a redelivery or duplicate."""
    result = await session.execute(
        insert(table)
        .values(
            consumer=entry.consumer,
            event_id=entry.event_id,
            event_type=entry.event_type,
            topic=entry.topic,
        )
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return result.first() is not None


async def record_new(
    session: AsyncSession, table: Table, entries: Sequence[InboxEntry]
) -> set[str]:
    """Records every entry in one statement; returns the event ids seen here for the first
    time (a redelivered one, or one twice in `entries`, is not new)."""
    if not entries:
        return set()
    rows = {
        (e.consumer, e.event_id): {
            "consumer": e.consumer,
            "event_id": e.event_id,
            "event_type": e.event_type,
            "topic": e.topic,
        }
        for e in entries
    }
    result = await session.execute(
        insert(table)
        .values(list(rows.values()))
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return set(result.scalars())
