"""Writes integration events as outbox rows inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.clock import Clock
from libs.contracts.base import IntegrationEvent
from libs.db.bulk import TableRows
from libs.db.engine import json_text
from libs.ids import new_id
from libs.messaging.envelope import Envelope, dataschema_of, source_of
from libs.observability.correlation import current_causation_id, current_correlation_id
from libs.outbox.audit import audit_row


class OutboxWriter:
    def __init__(
        self, *, table: Table, service: str, clock: Clock, audit_table: Table | None = None
    ) -> None:
        self._table = table
        self._audit_table = audit_table
        self._source = source_of(service)
        self._clock = clock

    def envelope(self, event: IntegrationEvent) -> Envelope:
        return Envelope(
            id=str(new_id()),
            source=self._source,
            type=event.event_type,
            subject=event.subject,
            time=self._clock.now(),
            dataschema=dataschema_of(event.topic, event.event_type, event.version),
            correlationid=current_correlation_id(),
            causationid=current_causation_id(),
            partitionkey=event.partition_key,
            data=event.model_dump(mode="json"),
        )

    def rows(
        self, events: Sequence[IntegrationEvent]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The outbox rows of `events` and, when this writer audits, their audit rows."""
        rows = []
        audit_rows = []
        for event in events:
            env = self.envelope(event)
            if self._audit_table is not None:
                audit_rows.append(audit_row(event, env, env.time))
            rows.append(
                {
                    "id": env.id,
                    "topic": event.topic,
                    "key": env.partitionkey,
                    "event_type": env.type,
                    "schema_version": event.version,
                    "payload": env.model_dump(mode="json", exclude_none=True),
                    "headers": {"correlation-id": env.correlationid}
                    | ({"causation-id": env.causationid} if env.causationid else {}),
                }
            )
        return rows, audit_rows

    def tables_and_rows(self, events: Sequence[IntegrationEvent]) -> list[TableRows]:
        """The rows `events` add, by table, for a caller that writes them itself (in one
        statement with its own rows: libs.db.bulk)."""
        rows, audit_rows = self.rows(events)
        parts: list[TableRows] = [(self._table, rows)]
        if self._audit_table is not None:
            parts.append((self._audit_table, audit_rows))
        return parts

    async def write(self, session: AsyncSession, events: Sequence[IntegrationEvent]) -> None:
        if events:
            await self.insert(session, *self.rows(events))

    async def insert(
        self,
        session: AsyncSession,
        rows: Sequence[dict[str, Any]],
        audit_rows: Sequence[dict[str, Any]],
    ) -> None:
        """Rows made by `rows()`, the outbox's and the audit log's in ONE statement whatever
        their number: each column goes as one array and `unnest` turns the arrays back into
        rows, in order (the relay publishes by `seq`, so a key's events keep their order).
        Per-row parameters through the ORM's multi-row insert were a visible share of every
        service's CPU, and the text never changes, so the driver prepares it once."""
        if not rows:
            return
        params: dict[str, Any] = {
            "id": [r["id"] for r in rows],
            "topic": [r["topic"] for r in rows],
            "key": [r["key"] for r in rows],
            "event_type": [r["event_type"] for r in rows],
            "schema_version": [r["schema_version"] for r in rows],
            "payload": [json_text(r["payload"]) for r in rows],
            "headers": [json_text(r["headers"]) for r in rows],
        }
        if audit_rows and self._audit_table is not None:
            params.update(
                at=[r["at"] for r in audit_rows],
                actor=[r["actor"] for r in audit_rows],
                operation=[r["operation"] for r in audit_rows],
                event_id=[r["event_id"] for r in audit_rows],
                audited_type=[r["event_type"] for r in audit_rows],
                resources=[text_array(r["resources"]) for r in audit_rows],
                correlation_id=[r["correlation_id"] for r in audit_rows],
                causation_id=[r["causation_id"] for r in audit_rows],
            )
            statement = _audited_insert(self._table.fullname, self._audit_table.fullname)
        else:
            statement = _outbox_insert(self._table.fullname)
        await session.execute(statement, params)


def text_array(items: Sequence[str]) -> str:
    """A PostgreSQL array literal of these strings (unnest cannot carry an array per row,
    so each row's array goes as its literal and is cast back)."""
    return "{" + ",".join('"' + _escaped(item) + '"' for item in items) + "}"


def _escaped(item: str) -> str:
    return item.replace("\\", "\\\\").replace('"', '\\"')


_OUTBOX_ROWS = """INSERT INTO {outbox} (
        id, topic, key, event_type, schema_version, payload, headers
    )
    SELECT id, topic, key, event_type, schema_version, payload::jsonb, headers::jsonb
    FROM unnest(
        CAST(:id AS uuid[]), CAST(:topic AS text[]), CAST(:key AS text[]),
        CAST(:event_type AS text[]), CAST(:schema_version AS int[]),
        CAST(:payload AS text[]), CAST(:headers AS text[])
    ) AS r(id, topic, key, event_type, schema_version, payload, headers)"""


@cache
def _outbox_insert(outbox: str) -> TextClause:
    return text(_OUTBOX_ROWS.format(outbox=outbox))


@cache
def _audited_insert(outbox: str, audit: str) -> TextClause:
    return text(
        f"""WITH outbox_rows AS ({_OUTBOX_ROWS.format(outbox=outbox)})
        INSERT INTO {audit} (
            at, actor, operation, event_id, event_type, resources, correlation_id, causation_id
        )
        SELECT at, actor, operation, event_id, event_type, resources::text[], correlation_id,
            causation_id
        FROM unnest(
            CAST(:at AS timestamptz[]), CAST(:actor AS text[]), CAST(:operation AS text[]),
            CAST(:event_id AS uuid[]), CAST(:audited_type AS text[]), CAST(:resources AS text[]),
            CAST(:correlation_id AS text[]), CAST(:causation_id AS text[])
        ) AS a(at, actor, operation, event_id, event_type, resources, correlation_id,
            causation_id)"""
    )
