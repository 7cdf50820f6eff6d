"""What order-capture consumes: (topic, event type) -> the command it becomes."""

from __future__ import annotations

from uuid import UUID

from libs.contracts.inventory import StockReservationRejected, StockReserved
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import INVENTORY_EVENTS
from services.order_capture.domain import commands


def _stock_reserved(env: Envelope) -> commands.ConfirmStockReserved:
    event = StockReserved.model_validate(env.data)
    return commands.ConfirmStockReserved(order_id=UUID(event.order_id))


def _stock_rejected(env: Envelope) -> commands.RecordStockShortage:
    event = StockReservationRejected.model_validate(env.data)
    return commands.RecordStockShortage(order_id=UUID(event.order_id), reason=event.reason)


SUBSCRIPTIONS: Subscriptions = {
    INVENTORY_EVENTS: {
        StockReserved.event_type: _stock_reserved,
        StockReservationRejected.event_type: _stock_rejected,
    }
}
