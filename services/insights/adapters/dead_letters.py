"""The dead_letter table: storing what the collector read, the re-drive's repository, and the
API's reads (plain read models; the routes make the responses)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.db.pagination import Keyset, by_datetime, by_uuid
from libs.ids import new_id
from services.insights.adapters.tables import dead_letter
from services.insights.domain.dead_letters import (
    CollectedDeadLetter,
    DeadLetter,
    DeadLetterStatus,
    Headers,
)

t = dead_letter
NEWEST_FIRST = Keyset(by_datetime(t.c.dead_lettered_at), by_uuid(t.c.id), descending=True)


def _headers_json(headers: Headers) -> list[list[str]]:
    return [[name, base64.b64encode(data).decode()] for name, data in headers]


def _headers_of(stored: list[list[str]]) -> Headers:
    return tuple((name, base64.b64decode(data)) for name, data in stored)


async def store_collected(
    session_factory: async_sessionmaker[AsyncSession], letters: Sequence[CollectedDeadLetter]
) -> int:
    """The letters not stored yet, stored in one transaction; how many were new. A letter read
    again (the collector's offsets were not committed before a crash) is already there."""
    if not letters:
        return 0
    rows = [
        {
            "id": new_id(),
            "topic": letter.topic,
            "partition": letter.partition,
            "offset": letter.offset,
            "dlq_partition": letter.dlq_partition,
            "dlq_offset": letter.dlq_offset,
            "consumer": letter.consumer,
            "error": letter.error,
            "key": letter.key,
            "value": letter.value,
            "value_json": letter.value_json,
            "headers": _headers_json(letter.headers),
            "event_id": letter.event_id,
            "event_type": letter.event_type,
            "dead_lettered_at": letter.dead_lettered_at,
        }
        for letter in letters
    ]
    statement = insert(t).values(rows).on_conflict_do_nothing().returning(t.c.id)
    async with session_factory() as session, session.begin():
        return len((await session.execute(statement)).all())


class SqlDeadLetterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_for_update(self, dead_letter_id: UUID) -> DeadLetter | None:
        row = (
            await self._session.execute(
                select(
                    t.c.id,
                    t.c.topic,
                    t.c.dlq_partition,
                    t.c.dlq_offset,
                    t.c.key,
                    t.c.value,
                    t.c.headers,
                    t.c.status,
                )
                .where(t.c.id == dead_letter_id)
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            return None
        return DeadLetter(
            id=row.id,
            topic=row.topic,
            dlq_partition=row.dlq_partition,
            dlq_offset=row.dlq_offset,
            key=row.key,
            value=row.value,
            headers=_headers_of(row.headers),
            status=DeadLetterStatus(row.status),
        )

    async def mark_redriven(self, dead_letter_id: UUID, at: datetime) -> None:
        await self._session.execute(
            update(t)
            .where(t.c.id == dead_letter_id)
            .values(
                status=DeadLetterStatus.REDRIVEN.value,
                redriven_at=at,
                redrive_count=t.c.redrive_count + 1,
            )
        )


@dataclass(frozen=True)
class DeadLetterSummary:
    id: UUID
    topic: str
    partition: int | None
    offset: int | None
    consumer: str | None
    error: str | None
    event_id: str | None
    event_type: str | None
    key: str | None
    dead_lettered_at: datetime
    status: str
    redriven_at: datetime | None
    redrive_count: int


@dataclass(frozen=True)
class DeadLetterDetail(DeadLetterSummary):
    value: Any  # the value parsed, when it is JSON
    value_base64: str | None  # otherwise the bytes, base64
    headers: dict[str, str]


_SUMMARY = (
    t.c.id,
    t.c.topic,
    t.c.partition,
    t.c.offset,
    t.c.consumer,
    t.c.error,
    t.c.event_id,
    t.c.event_type,
    t.c.key,
    t.c.dead_lettered_at,
    t.c.status,
    t.c.redriven_at,
    t.c.redrive_count,
)


def _summary_fields(row: Any) -> dict[str, Any]:
    fields = {column.key: getattr(row, column.key) for column in _SUMMARY}
    key: bytes | None = row.key
    fields["key"] = None if key is None else key.decode(errors="replace")
    return fields


async def list_dead_letters(
    session: AsyncSession,
    *,
    status: str | None,
    topic: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeadLetterSummary], str | None]:
    """Newest first, filtered by status and original topic."""
    query: Select[Any] = select(*_SUMMARY)
    if status is not None:
        query = query.where(t.c.status == status)
    if topic is not None:
        query = query.where(t.c.topic == topic)
    rows, next_cursor = await NEWEST_FIRST.page(session, query, limit=limit, cursor=cursor)
    return [DeadLetterSummary(**_summary_fields(r)) for r in rows], next_cursor


async def get_dead_letter(session: AsyncSession, dead_letter_id: UUID) -> DeadLetterDetail | None:
    row = (
        await session.execute(
            select(*_SUMMARY, t.c.value, t.c.value_json, t.c.headers).where(
                t.c.id == dead_letter_id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    value: bytes | None = row.value
    is_json = row.value_json is not None
    return DeadLetterDetail(
        **_summary_fields(row),
        value=row.value_json,
        value_base64=(None if is_json or value is None else base64.b64encode(value).decode()),
        headers={name: data.decode(errors="replace") for name, data in _headers_of(row.headers)},
    )
