"""Retention of the plumbing tables every service has: idempotency keys, inbox rows, audit rows.

One periodic job per process (libs.bootstrap adds it to the "jobs" part), however many
processes and replicas run it: each batch deletes at most `batch` rows of a table in a
transaction of its own, choosing them with FOR UPDATE SKIP LOCKED, so two runs at once take
different rows, neither waits for the other, and a row is deleted once. A run that finds
nothing deletes nothing: it is safe to repeat.

How each table's old rows are found without reading the young ones:
- idempotency keys, by `created_at` (its index, ix_idempotency_key_created_at);
- inbox rows, by `received_at` (its index, ix_inbox_received_at);
- audit rows, in primary-key order: `seq` is taken at insert and `at` is the clock when the
  event was written a moment before, so the oldest rows by `seq` are the oldest by `at` (up to
  a transaction's length and the processes' clock skew). A batch looks only at the `batch`
  lowest `seq` and deletes those among them past the retention, so it never reads the year of
  young rows behind them and the audit log, written with every event, needs no second index.
  A row a little out of order waits for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import DateTime, Integer, Table, TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.clock import Clock
from libs.jobs import PeriodicJob
from libs.observability.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    idempotency: timedelta
    inbox: timedelta
    audit: timedelta
    batch: int

    def cutoffs(self, now: datetime) -> Cutoffs:
        """Rows stamped before these instants are past their retention."""
        return Cutoffs(
            idempotency=now - self.idempotency, inbox=now - self.inbox, audit=now - self.audit
        )


@dataclass(frozen=True)
class Cutoffs:
    idempotency: datetime
    inbox: datetime
    audit: datetime


@dataclass(frozen=True)
class Deleted:
    idempotency: int
    inbox: int
    audit: int

    @property
    def total(self) -> int:
        return self.idempotency + self.inbox + self.audit


_PARAMS = (
    bindparam("cutoff", type_=DateTime(timezone=True)),
    bindparam("batch", type_=Integer),
)


@cache
def delete_older_than(table: str, stamp: str) -> TextClause:
    """At most `batch` rows of `table` stamped before `cutoff`, found by the stamp's index.
    The rows are chosen and locked in a sub-select (deleted by their ctid: a locked row
    cannot move before the delete) so that rows another run holds are skipped, not waited
    for."""
    return text(
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {table} WHERE {stamp} < :cutoff"
        " LIMIT :batch FOR UPDATE SKIP LOCKED))"
    ).bindparams(*_PARAMS)


@cache
def delete_oldest_by_seq(table: str, stamp: str) -> TextClause:
    """Of the `batch` lowest-`seq` rows of `table` no other run holds, those stamped before
    `cutoff` (see the module's docstring for why not by the stamp)."""
    return text(
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM (SELECT ctid, {stamp} FROM {table}"
        " ORDER BY seq LIMIT :batch FOR UPDATE SKIP LOCKED) AS oldest"
        f" WHERE {stamp} < :cutoff))"
    ).bindparams(*_PARAMS)


class Retention:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        idempotency: Table,
        inbox: Table,
        audit: Table,
        policy: RetentionPolicy,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._policy = policy
        self._clock = clock
        self._idempotency = delete_older_than(idempotency.fullname, "created_at")
        self._inbox = delete_older_than(inbox.fullname, "received_at")
        self._audit = delete_oldest_by_seq(audit.fullname, "at")

    def job(self, interval_s: float) -> PeriodicJob:
        return PeriodicJob(name="retention", interval_s=interval_s, run_once=self.run_once)

    async def run_once(self) -> int:
        """One batch of each table; the rows deleted, so the job goes on at once while it
        finds some and waits its interval once it finds none."""
        deleted = await self.delete_batch()
        if deleted.total:
            log.info(
                "retention.deleted",
                idempotency_keys=deleted.idempotency,
                inbox=deleted.inbox,
                audit=deleted.audit,
            )
        return deleted.total

    async def delete_batch(self) -> Deleted:
        cutoffs = self._policy.cutoffs(self._clock.now())
        return Deleted(
            idempotency=await self._delete(self._idempotency, cutoffs.idempotency),
            inbox=await self._delete(self._inbox, cutoffs.inbox),
            audit=await self._delete(self._audit, cutoffs.audit),
        )

    async def _delete(self, statement: TextClause, cutoff: datetime) -> int:
        # A transaction per table: the locks of one batch are held only while it deletes.
        async with self._engine.begin() as conn:
            result = await conn.execute(statement, {"cutoff": cutoff, "batch": self._policy.batch})
        return int(result.rowcount)
