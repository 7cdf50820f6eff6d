"""Dispatches a command to its handler inside a fresh unit of work, then commits once.

A fresh unit of work per message: one shared instance (as in cosmicpython's bus) would race
under concurrent async requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import Table

from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from libs.observability.logging import get_logger
from libs.outbox.inbox import InboxEntry, record_once

Handler = Callable[[Any, Any], Awaitable[Any]]

log = get_logger(__name__)


class MessageBus:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], SqlAlchemyUnitOfWork],
        handlers: Mapping[type, Handler],
        inbox_table: Table,
    ) -> None:
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._inbox_table = inbox_table

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
