"""Dispatches a command to its handler inside a fresh unit of work, then commits once.

A fresh unit of work per message: one shared instance (as in cosmicpython's bus) would race
under concurrent async requests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.driver import execute
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from libs.observability.logging import get_logger
from libs.outbox.inbox import InboxEntry, record_new, record_once

Handler = Callable[[Any, Any], Awaitable[Any]]

log = get_logger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One message of a batch: its command, its inbox entry (a consumed message's; None for
    work of the service's own, such as a worker's answers), the key of the aggregate it is
    about (an order id) and the scope (its correlation and causation ids) it runs in."""

    message: object
    inbox: InboxEntry | None
    key: str
    scope: Callable[[], AbstractContextManager[Any]]


class HandleAlone(Exception):
    """Raised by a handler running in a batch when its command must have a transaction of
    its own after all (say, a reservation short of stock, decided under locks): the batch
    rolls back and its records are handled one by one, as after any failure of a batch."""


async def lock_keys(session: AsyncSession, keys: Collection[str]) -> None:
    """Transaction-scoped advisory locks on `keys`, taken in one global order: two batches
    that share keys queue for them instead of each locking the rows of one and waiting for
    the other's (a deadlock)."""
    ids = sorted({key_lock_id(key) for key in keys})
    await execute(session, _LOCK_KEYS, {"ids": ids})


_LOCK_KEYS = text(
    "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS k ORDER BY k"
)


def key_lock_id(key: str) -> int:
    digest = hashlib.blake2b(f"oms-key:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class MessageBus:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], SqlAlchemyUnitOfWork],
        handlers: Mapping[type, Handler],
        inbox_table: Table,
        batchable: Collection[type] = (),
    ) -> None:
        """`batchable`: the commands whose handlers may share a transaction with others of a
        consumer's batch. Each must lock only rows of its own record's key (one order), after
        the aggregate's root, as every other writer of them does, or rows the unit of work
        locked for the whole batch before any handler ran (`lock_for`, in the service's one
        global order): then a batch, which first takes its keys' locks in one global order,
        can wait on a request but never close a cycle with one or with another batch. A
        handler that would lock other rows runs in a transaction of its own. A command may
        also decline for itself (a `batchable` attribute that is false)."""
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._inbox_table = inbox_table
        self._batchable = frozenset(batchable)

    def batchable(self, message: object) -> bool:
        return type(message) in self._batchable and bool(getattr(message, "batchable", True))

    async def handle(self, message: object, *, inbox: InboxEntry | None = None) -> Any:
        """Run the message's handler; with `inbox`, a message already seen changes nothing."""
        handler = self._handlers[type(message)]
        async with self._uow_factory() as uow:
            if inbox is not None and not await record_once(uow.session, self._inbox_table, inbox):
                log.info(
                    "inbox.duplicate_skipped", event_id=inbox.event_id, consumer=inbox.consumer
                )
                return None
            result = await handler(message, uow)
            await uow.commit()
        return result

    async def handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Every delivery's handler, in order, in ONE unit of work and one commit: the inbox
        rows, the effects and the outbox rows of all of them commit together or not at all.
        A consumer's fetch of N records costs one transaction instead of N. Deliveries seen
        before are skipped, as `handle` skips them. Any failure rolls the whole batch back and
        is raised: the caller then handles the deliveries one by one."""
        async with self._uow_factory() as uow:
            await lock_keys(uow.session, {d.key for d in deliveries})
            entries = [d.inbox for d in deliveries if d.inbox is not None]
            new = await record_new(uow.session, self._inbox_table, entries)
            fresh = [d for d in deliveries if d.inbox is None or d.inbox.event_id in new]
            await uow.prepare({d.key for d in fresh})
            await uow.lock_for([d.message for d in fresh])
            for delivery in deliveries:
                entry = delivery.inbox
                if entry is not None:
                    if entry.event_id not in new:
                        log.info(
                            "inbox.duplicate_skipped",
                            event_id=entry.event_id,
                            consumer=entry.consumer,
                        )
                        continue
                    new.discard(entry.event_id)  # twice in one batch: handled once
                handler = self._handlers[type(delivery.message)]
                with delivery.scope():
                    await handler(delivery.message, uow)
                    await uow.stage()
            await uow.commit()
