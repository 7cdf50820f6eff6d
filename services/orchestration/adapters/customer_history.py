"""Who has ordered before: manual review's new-customer rule asks orchestration's own table,
never order-capture, on the order's path.

A started saga counts in its customer's row; the row keeps the first order's id, so "is
this the customer's first order?" is the same answer for a start delivered again. A start
whose saga is there already counts nothing: a consumer's batch leaves out the orders whose
sagas it locked, and the statement itself looks for the saga of a start handled alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.arrays import unnest_select
from libs.db.driver import fetch
from services.orchestration.service_layer.unit_of_work import Placed

_PLACED = {
    "customer_key": "text",
    "first_order_id": "uuid",
    "first_order_at": "timestamptz",
    "orders": "integer",
}
# One statement for a whole batch, its rows in key order: concurrent batches lock their
# customers' rows in one order, so they queue rather than deadlock.
_RECORD = text(
    f"""
    INSERT INTO customer_history AS h (customer_key, first_order_id, first_order_at, orders)
    SELECT * FROM ({unnest_select(_PLACED)}) AS placed
    WHERE NOT EXISTS (SELECT 1 FROM order_saga s WHERE s.order_id = placed.first_order_id)
    ORDER BY customer_key
    ON CONFLICT (customer_key) DO UPDATE SET orders = h.orders + excluded.orders
    RETURNING customer_key, first_order_id
    """
)


async def record(session: AsyncSession, placed: Sequence[Placed]) -> dict[str, UUID]:
    """Counts these orders (of sagas to be started, in the order they came) in their
    customers' history, each order once, in one statement; returns each customer's first
    order id. A customer left out was not counted: its order has a saga already."""
    orders: dict[UUID, Placed] = {}
    for p in placed:
        orders.setdefault(p.order_id, p)
    first: dict[str, Placed] = {}
    counts: Counter[str] = Counter()
    for p in orders.values():
        first.setdefault(p.customer_key, p)
        counts[p.customer_key] += 1
    if not first:
        return {}
    params = {
        "customer_key": list(first),
        "first_order_id": [p.order_id for p in first.values()],
        "first_order_at": [p.at for p in first.values()],
        "orders": [counts[key] for key in first],
    }
    rows = await fetch(session, _RECORD, params)
    return {row["customer_key"]: UUID(bytes=row["first_order_id"].bytes) for row in rows}


class CustomerHistoryTable:
    """The customers' history as the unit of work offers it (service_layer.unit_of_work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, placed: Sequence[Placed]) -> dict[str, UUID]:
        return await record(self._session, placed)
