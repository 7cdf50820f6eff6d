"""What orchestration consumes: (topic, event type) -> the command it becomes."""

from __future__ import annotations

from uuid import UUID

from libs.contracts.inventory import ReservationConfirmed, ReservationRejected
from libs.contracts.order import OrderPlaced
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import INVENTORY_EVENTS, ORDER_EVENTS
from services.orchestration.domain import commands


def _order_placed(env: Envelope) -> commands.StartOrderSaga:
    event = OrderPlaced.model_validate(env.data)
    return commands.StartOrderSaga(order_id=UUID(event.order_id), order_number=event.order_number)


def _stock_reserved(env: Envelope) -> commands.RecordReservationOutcome:
    event = ReservationConfirmed.model_validate(env.data)
    detail = ", ".join(f"{ln.quantity} x {ln.sku} at {ln.location_code}" for ln in event.lines)
    return commands.RecordReservationOutcome(
        order_id=UUID(event.order_id), reserved=True, detail=detail
    )


def _stock_rejected(env: Envelope) -> commands.RecordReservationOutcome:
    event = ReservationRejected.model_validate(env.data)
    return commands.RecordReservationOutcome(
        order_id=UUID(event.order_id), reserved=False, detail=event.reason
    )


SUBSCRIPTIONS: Subscriptions = {
    ORDER_EVENTS: {OrderPlaced.event_type: _order_placed},
    INVENTORY_EVENTS: {
        ReservationConfirmed.event_type: _stock_reserved,
        ReservationRejected.event_type: _stock_rejected,
    },
}
