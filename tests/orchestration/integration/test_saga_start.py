"""Starting sagas against the real database. A placed order's saga is inserted when the unit
of work commits, with every other saga its batch started; a start delivered again under
another event id (a producer's retry) finds the saga there and changes and announces
nothing, alone or within a batch."""

from __future__ import annotations

import contextlib
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from libs.bus.message_bus import Delivery
from libs.runtime import ServiceContainer
from services.orchestration.adapters.tables import order_saga, plumbing
from services.orchestration.domain.commands import ProjectLocation, ProjectStock, StartSaga
from tests.orchestration.integration.conftest import order_snapshot

outbox = plumbing.outbox


def start(order_id: UUID, channel: str) -> Delivery:
    return Delivery(StartSaga(order_id, order_snapshot(channel)), None, str(order_id), _scope)


def _scope() -> contextlib.nullcontext[None]:
    return contextlib.nullcontext()


async def stored(container: ServiceContainer, order_id: UUID) -> tuple[str | None, int]:
    """The saga's channel (None: no saga) and how many events were written about the order."""
    async with container.session_factory() as s:
        channel = await s.scalar(
            select(order_saga.c.channel).where(order_saga.c.order_id == order_id)
        )
        events = await s.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.key == str(order_id))
        )
    return channel, int(events or 0)


@pytest.fixture(scope="module", autouse=True)
async def stocked(container: ServiceContainer) -> None:
    """A location in the routing view with the sample order's SKU: a start routes the order
    at once, and announces it (the reservation it asks for, the routing)."""
    code = f"WH-START-{uuid4().hex[:6].upper()}"
    await container.bus.handle(
        ProjectLocation(
            code, "warehouse", True, ("ship",), "DE", 52.5, 13.4, 500, None, 0, None, "UTC", 1
        )
    )
    await container.bus.handle(ProjectStock("LAMP-001", code, 1_000_000))


async def test_a_second_start_of_an_order_changes_and_announces_nothing(
    container: ServiceContainer,
) -> None:
    order_id = uuid4()
    await container.bus.handle(StartSaga(order_id, order_snapshot("web")))
    first = await stored(container, order_id)
    assert first[0] == "web"
    assert first[1] > 0

    await container.bus.handle(StartSaga(order_id, order_snapshot("marketplace")))

    assert await stored(container, order_id) == first


async def test_a_batch_starts_each_order_once(container: ServiceContainer) -> None:
    known, twice, once = uuid4(), uuid4(), uuid4()
    await container.bus.handle(StartSaga(known, order_snapshot("web")))
    known_before = await stored(container, known)

    await container.bus.handle_batch(
        [
            start(twice, "web"),
            start(known, "marketplace"),
            start(once, "store"),
            start(twice, "marketplace"),
        ]
    )

    assert await stored(container, known) == known_before
    twice_after, once_after = await stored(container, twice), await stored(container, once)
    assert twice_after[0] == "web"
    assert once_after[0] == "store"
    # Each started saga announced as much as the single start of `known` did.
    assert twice_after[1] == once_after[1] == known_before[1]
