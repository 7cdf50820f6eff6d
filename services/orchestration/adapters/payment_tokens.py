"""Each order's payment token as order-capture sent it on oms.payments.commands: orchestration's
own table, read by the saga worker when it authorises, never published nor shown by the API.

The token comes on a topic of its own, read beside oms.order.events, so it may be kept before
the order's saga starts or after; the worker's authorisation waits for it (see
service_layer.handlers.worker).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.arrays import unnest_select
from libs.db.driver import execute
from services.orchestration.adapters.tables import payment_token

_COLUMNS = {"order_id": "uuid", "token": "text", "received_at": "timestamptz"}
# One statement for a consumer's batch; a token sent again (at least once delivery) keeps the
# first, so a duplicate changes nothing.
_KEEP = text(
    f"""
    INSERT INTO payment_token (order_id, token, received_at)
    {unnest_select(_COLUMNS)}
    ORDER BY order_id
    ON CONFLICT (order_id) DO NOTHING
    """
)


class PaymentTokenTable:
    """The payment tokens as the unit of work offers them (service_layer.unit_of_work):
    kept in memory until the commit writes them, in one statement."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._pending: dict[UUID, tuple[str | None, datetime]] = {}

    async def keep(self, order_id: UUID, token: str | None, at: datetime) -> None:
        self._pending.setdefault(order_id, (token, at))

    async def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        await execute(
            self._session,
            _KEEP,
            {
                "order_id": list(pending),
                "token": [token for token, _ in pending.values()],
                "received_at": [at for _, at in pending.values()],
            },
        )


async def tokens_of(session: AsyncSession, order_ids: Sequence[UUID]) -> dict[UUID, str | None]:
    """The tokens kept for these orders; an order whose token has not come is left out."""
    if not order_ids:
        return {}
    rows = await session.execute(
        select(payment_token.c.order_id, payment_token.c.token).where(
            payment_token.c.order_id.in_(list(order_ids))
        )
    )
    return {row.order_id: row.token for row in rows}
