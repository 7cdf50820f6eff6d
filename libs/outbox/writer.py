"""Writes integration events as outbox rows inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.clock import Clock
from libs.contracts.base import IntegrationEvent
from libs.db.arrays import column_arrays, unnest_insert, unnest_select
from libs.db.bulk import TableRows
from libs.db.driver import execute
from libs.ids import new_id
from libs.messaging.envelope import Envelope, dataschema_of, source_of
from libs.observability.correlation import current_causation_id, current_correlation_id
from libs.observability.tracing import current_trace_headers
from libs.outbox.audit import audit_row


class OutboxWriter:
    def __init__(
        self, *, table: Table, service: str, clock: Clock, audit_table: Table | None = None
    ) -> None:
        self._table = table
        self._audit_table = audit_table
        self._source = source_of(service)
        self._clock = clock

    @property
    def table(self) -> Table:
        return self._table

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
        # The current span's W3C context, sent on by the relay (libs.observability.tracing);
        # empty when tracing is off.
        trace_headers = current_trace_headers()
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
                    | ({"causation-id": env.causationid} if env.causationid else {})
                    | trace_headers,
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
        their number (libs.db.arrays), in order: the relay publishes by `seq`, so a key's
        events keep their order. Per-row parameters through the ORM's multi-row insert were
        a visible share of every service's CPU."""
        if not rows:
            return
        params = column_arrays(rows, OUTBOX_COLUMNS)
        if audit_rows and self._audit_table is not None:
            audit = column_arrays(audit_rows, AUDIT_COLUMNS)
            # One statement, two tables: the audit columns' parameters are prefixed.
            params.update({f"audit_{name}": values for name, values in audit.items()})
            statement = _audited_insert(self._table.fullname, self._audit_table.fullname)
        else:
            statement = _outbox_insert(self._table.fullname)
        await execute(session, statement, params)


OUTBOX_COLUMNS = {
    "id": "uuid",
    "topic": "text",
    "key": "text",
    "event_type": "text",
    "schema_version": "int",
    "payload": "jsonb",
    "headers": "jsonb",
}
AUDIT_COLUMNS = {
    "at": "timestamptz",
    "actor": "text",
    "operation": "text",
    "event_id": "uuid",
    "event_type": "text",
    "resources": "text[]",
    "correlation_id": "text",
    "causation_id": "text",
}


@cache
def _outbox_insert(outbox: str) -> TextClause:
    return unnest_insert(outbox, OUTBOX_COLUMNS)


@cache
def _audited_insert(outbox: str, audit: str) -> TextClause:
    outbox_rows = unnest_insert(outbox, OUTBOX_COLUMNS).text
    audit_select = unnest_select(AUDIT_COLUMNS, prefix="audit_")
    return text(
        f"WITH outbox_rows AS ({outbox_rows}) "
        f"INSERT INTO {audit} ({', '.join(AUDIT_COLUMNS)}) {audit_select}"
    )
