"""What returns consumes: (topic, event type) -> the command it becomes."""

from __future__ import annotations

from uuid import UUID

from libs.contracts.order import OrderPlaced
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import ORDER_EVENTS
from services.returns.domain import commands


def _order_placed(env: Envelope) -> commands.ProjectPlacedOrder:
    event = OrderPlaced.model_validate(env.data)
    return commands.ProjectPlacedOrder(
        order_id=UUID(event.order_id),
        order_number=event.order_number,
        customer_email=event.customer_email,
        currency=event.currency,
        placed_at=event.placed_at,
        lines=tuple(
            commands.KnownLine(UUID(ln.line_id), ln.sku, ln.quantity, ln.unit_price)
            for ln in event.lines
        ),
    )


SUBSCRIPTIONS: Subscriptions = {ORDER_EVENTS: {OrderPlaced.event_type: _order_placed}}
