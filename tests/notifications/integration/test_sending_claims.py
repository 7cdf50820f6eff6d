"""The sending job in several processes at once: each claim takes notifications no other holds,
so no customer message is handed to the server twice by two processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import insert

from libs.runtime import ServiceContainer
from services.notifications.adapters.notification_repository import sending_queue
from services.notifications.adapters.tables import notification
from services.notifications.bootstrap import bootstrap


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.engine.dispose()


async def pending_notifications(container: ServiceContainer, n: int) -> set[UUID]:
    now = datetime.now(UTC)
    ids = {uuid.uuid4() for _ in range(n)}
    rows = [
        {
            "id": id_,
            "order_id": uuid.uuid4(),
            "kind": "order_confirmation",
            "business_key": "order",
            "medium": "email",
            "status": "pending",
            "next_attempt_at": now - timedelta(seconds=1),
            "event_id": str(uuid.uuid4()),
            "event_type": "oms.order.status_changed",
            "event_data": {},
            "created_at": now,
            "updated_at": now,
        }
        for id_ in ids
    ]
    async with container.session_factory.begin() as s:
        await s.execute(insert(notification), rows)
    return ids


async def test_two_processes_claiming_at_once_take_each_notification_once(
    container: ServiceContainer,
) -> None:
    mine = await pending_notifications(container, 120)
    queue = sending_queue(container.session_factory)

    async def drain() -> set[UUID]:
        taken: set[UUID] = set()
        while True:
            async with queue() as q:
                claimed = await q.claim_due(datetime.now(UTC), 20, lease=timedelta(minutes=5))
            if not claimed:
                return taken
            taken.update(c.id for c in claimed)

    first, second = await asyncio.gather(drain(), drain())

    assert not first & second
    assert mine <= first | second
