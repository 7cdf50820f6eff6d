"""What inventory consumes: (topic, event type) -> the command it becomes."""

from __future__ import annotations

from uuid import UUID

from libs.contracts.order import OrderPlaced
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import ORDER_EVENTS
from services.inventory.domain import commands


def _order_placed(env: Envelope) -> commands.ReserveForOrder:
    # Walking skeleton: inventory answers placed orders directly. Orchestration's routing
    # takes this over with explicit reservation commands on oms.inventory.commands.
    event = OrderPlaced.model_validate(env.data)
    return commands.ReserveForOrder(
        order_id=UUID(event.order_id),
        lines=tuple(commands.RequestedLine(ln.sku, ln.quantity) for ln in event.lines),
    )


SUBSCRIPTIONS: Subscriptions = {ORDER_EVENTS: {OrderPlaced.event_type: _order_placed}}
