"""The inbox: one row per (consumer, event id), written in the handler's own transaction."""

from __future__ import annotations

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
