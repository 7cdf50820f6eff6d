"""A placed order written in one statement: the hot path of order capture.

Everything a new order adds (the order, its lines, its timeline entry, its outbox and audit
rows and the completed Idempotency-Key) goes to PostgreSQL as one statement (libs.db.bulk),
committed on its own. The checks that the general path makes with reads first are left to the
constraints instead: a key used before, or a channel reference placed before, makes the
statement fail whole with a unique violation, and the caller then takes the general path,
which answers those cases (replay, 409) exactly as before.

Order numbers come from the database sequence in blocks, so a number costs no round trip; a
block a process does not use up leaves a gap, as a rolled-back nextval always could.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import UUID

import asyncpg
from sqlalchemy import Table

from libs.auth.actor import current_actor
from libs.db.bulk import TableRows, inserts_in_one_statement
from libs.db.pool import RawPool
from libs.outbox.writer import OutboxWriter
from services.order_capture.adapters.repository import line_rows, order_row, timeline_row
from services.order_capture.adapters.tables import order_line, sales_order, timeline_entry
from services.order_capture.domain.model import Order
from services.order_capture.service_layer.unit_of_work import (
    IdempotencyClaim,
    Publication,
    WrittenOrder,
)

NUMBER_BLOCK = 50


class OrderPlacements:
    def __init__(self, *, pool: RawPool, outbox: OutboxWriter, idempotency: Table) -> None:
        self._pool = pool
        self._outbox = outbox
        self._idempotency = idempotency
        self._numbers: list[int] = []
        self._numbering = asyncio.Lock()

    async def next_order_number(self) -> str:
        async with self._numbering:
            if not self._numbers:
                async with self._pool.connection() as connection:
                    rows = await connection.fetch(
                        "SELECT nextval('order_number_seq') AS n FROM generate_series(1, $1)",
                        NUMBER_BLOCK,
                    )
                self._numbers = sorted((row["n"] for row in rows), reverse=True)
            value = self._numbers.pop()
        return f"OMS-{value:08d}"

    async def payment_token_of(self, order_id: UUID, *, channel: str, email: str) -> str | None:
        async with self._pool.connection() as connection:
            token: str | None = await connection.fetchval(
                "SELECT payment->>'token' FROM sales_order WHERE id = $1 AND channel = $2"
                " AND lower(customer_email) = lower($3)",
                order_id,
                channel,
                email,
            )
        return token

    async def insert(
        self,
        order: Order,
        publications: Sequence[Publication],
        claim: IdempotencyClaim | None,
    ) -> WrittenOrder | None:
        """The order written, or None when a constraint refused it (a used key, a placed
        channel reference, text PostgreSQL cannot store): nothing was written then."""
        written = WrittenOrder(order=order_row(order), lines=line_rows(order))
        parts: list[TableRows] = [
            (sales_order, [written.order]),
            (order_line, written.lines),
            (timeline_entry, [timeline_row(order, p.timeline) for p in publications]),
            *self._outbox.tables_and_rows([r for p in publications for r in p.records]),
        ]
        if claim is not None:
            row = {
                "scope": f"{claim.scope}@{current_actor().client_id}",
                "key": claim.key,
                "fingerprint": claim.fingerprint,
                "resource_id": str(order.id),
                "response_status": 201,
            }
            parts.append((self._idempotency, [row]))
        sql, args = inserts_in_one_statement(parts)
        try:
            async with self._pool.connection() as connection:
                await connection.execute(sql, *args)
        except asyncpg.PostgresError:
            # Unique violations above all; any other refusal is answered by the general path
            # too, which knows how to say it (422 for a NUL byte, 409 for a duplicate, ...).
            return None
        return written
