"""Idempotency-Key storage: the key and the outcome commit in the same transaction as the work.

A second request with the same key blocks on the first one's uncommitted row (the primary key),
then sees the stored outcome; so concurrent retries cannot both act.

Keys belong to the client that sent them (the token's client id), as an API account's keys do:
another client sending the same key and body gets no replay of someone else's outcome.

A key is honoured for its retention (IDEMPOTENCY_RETENTION_S, 24 h by default, as the API
promises) and not a moment longer, whether or not the retention job (libs.outbox.retention)
has deleted its row yet: a key sent again after that is a new key, its old row taken over by
the new request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import Insert, Integer, Interval, Table, Text, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.auth.actor import current_actor
from libs.db.driver import fetch
from libs.errors import IdempotencyKeyReused

# The API's promise (docs/api-guide.md): a key is kept 24 h. IDEMPOTENCY_RETENTION_S.
DEFAULT_RETENTION = timedelta(hours=24)


@cache
def _claim_statement(table: Table) -> Insert:
    """The key's row, unless there is one still within its retention: an expired row is
    taken over as if it were not there (the row lock of ON CONFLICT DO UPDATE makes two
    requests taking it over at once wait for each other, as for a new key). Compiled once
    per table."""
    statement = insert(table).values(
        scope=bindparam("p_scope", type_=Text),
        key=bindparam("p_key", type_=Text),
        fingerprint=bindparam("p_fingerprint", type_=Text),
        resource_id=bindparam("p_resource_id", type_=Text),
        response_status=bindparam("p_status", type_=Integer),
    )
    # The row's created_at comes from the database's clock, so its age is taken on that clock.
    return statement.on_conflict_do_update(
        index_elements=[table.c.scope, table.c.key],
        set_={
            "fingerprint": statement.excluded.fingerprint,
            "resource_id": statement.excluded.resource_id,
            "response_status": statement.excluded.response_status,
            "created_at": func.now(),
        },
        where=table.c.created_at < func.now() - bindparam("p_retention", type_=Interval),
    ).returning(table.c.key)


@dataclass(frozen=True)
class StoredOutcome:
    resource_id: str | None
    status: int | None


class IdempotencyKeys:
    def __init__(
        self, session: AsyncSession, table: Table, retention: timedelta = DEFAULT_RETENTION
    ) -> None:
        self._session = session
        self._table = table
        self._retention = retention
        self._claimed: tuple[str, str] | None = None

    async def claim(
        self,
        *,
        scope: str,
        key: str,
        fingerprint: str,
        expected: StoredOutcome | None = None,
    ) -> StoredOutcome | None:
        """Reserve the key for this transaction; returns the earlier outcome if it was used.

        `expected` stores the outcome the caller expects with the claim, saving the UPDATE
        of `complete` when it comes true; a `complete` before the commit still overrides it
        (nobody else sees the row before the commit)."""
        scope = f"{scope}@{current_actor().client_id}"
        outcome = expected or StoredOutcome(resource_id=None, status=None)
        # On the driver (libs.db.driver): every creating request with a key runs this.
        inserted = await fetch(
            self._session,
            _claim_statement(self._table),
            {
                "p_scope": scope,
                "p_key": key,
                "p_fingerprint": fingerprint,
                "p_resource_id": outcome.resource_id,
                "p_status": outcome.status,
                "p_retention": self._retention,
            },
        )
        if inserted:
            self._claimed = (scope, key)
            return None
        t = self._table
        row = (
            await self._session.execute(
                select(t.c.fingerprint, t.c.resource_id, t.c.response_status).where(
                    t.c.scope == scope, t.c.key == key
                )
            )
        ).one()
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used with a different request body"
            )
        return StoredOutcome(resource_id=row.resource_id, status=row.response_status)

    async def replayed(
        self,
        *,
        scope: str,
        key: str | None,
        fingerprint: str,
        expected: StoredOutcome | None = None,
    ) -> StoredOutcome | None:
        """The earlier outcome of a request sent again with its Idempotency-Key, claiming the
        key when it is new (see `claim`); None when it is new or the request sent no key:
        what every handler with an optional key asks first."""
        if not key:
            return None
        return await self.claim(scope=scope, key=key, fingerprint=fingerprint, expected=expected)

    async def complete(self, *, resource_id: str, status: int) -> None:
        if self._claimed is None:
            return
        scope, key = self._claimed
        await self._session.execute(
            update(self._table)
            .where(self._table.c.scope == scope, self._table.c.key == key)
            .values(resource_id=resource_id, response_status=status)
        )
