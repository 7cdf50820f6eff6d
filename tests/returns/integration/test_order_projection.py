"""The projection of placed orders against the real database, as a consumer's batch writes
it: every order of the batch in one go at commit, an order known before left as it was, and
a later command of the same batch working on what the earlier ones projected."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select

from libs.bus.message_bus import Delivery
from libs.runtime import ServiceContainer
from services.returns.adapters.tables import known_order, known_order_line
from services.returns.domain import commands


def placed(order_id: UUID, *, sku: str, units: int = 1) -> commands.ProjectPlacedOrder:
    return commands.ProjectPlacedOrder(
        order_id=order_id,
        order_number=f"OMS-{uuid.uuid4().hex[:10].upper()}",
        customer_email="ada@example.com",
        currency="EUR",
        placed_at=datetime.now(UTC),
        lines=(commands.KnownLine(uuid.uuid4(), sku, units, Decimal("10.00")),),
        channel="web",
        customer_name="Ada Lovelace",
    )


def delivery(message: object, order_id: UUID) -> Delivery:
    return Delivery(message, None, str(order_id), contextlib.nullcontext)


async def lines_of(container: ServiceContainer, order_id: UUID) -> list[tuple[str, int]]:
    async with container.session_factory() as s:
        rows = await s.execute(
            select(known_order_line.c.sku, known_order_line.c.quantity).where(
                known_order_line.c.order_id == order_id
            )
        )
        return sorted((r.sku, r.quantity) for r in rows)


async def test_a_batch_projects_every_order_once_and_later_commands_see_them(
    container: ServiceContainer,
) -> None:
    known, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await container.bus.handle(placed(known, sku="SKU-KNOWN"))

    await container.bus.handle_batch(
        [
            delivery(placed(first, sku="SKU-A", units=2), first),
            # Known before: a second start of it (another event id) changes nothing.
            delivery(placed(known, sku="SKU-OTHER", units=9), known),
            delivery(placed(second, sku="SKU-B"), second),
            # In the same batch: the order it updates is not written yet when it runs.
            delivery(
                commands.UpdateOrderContact(
                    second, {"line1": "Unter den Linden 1"}, "grace@example.com", "Grace Hopper"
                ),
                second,
            ),
        ]
    )

    assert await lines_of(container, first) == [("SKU-A", 2)]
    assert await lines_of(container, known) == [("SKU-KNOWN", 1)]
    assert await lines_of(container, second) == [("SKU-B", 1)]
    async with container.session_factory() as s:
        row = (
            await s.execute(
                select(known_order.c.customer_email, known_order.c.customer_name).where(
                    known_order.c.order_id == second
                )
            )
        ).one()
    assert (row.customer_email, row.customer_name) == ("grace@example.com", "Grace Hopper")
