"""What inventory consumes: (topic, event type) -> the command it becomes."""

from __future__ import annotations

from uuid import UUID, uuid5

from libs.contracts import inventory as inv
from libs.contracts.order import OrderCancellationRequested, OrderPlaced
from libs.contracts.returns import ReturnReceived
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import INVENTORY_COMMANDS, ORDER_EVENTS, RETURNS_EVENTS
from services.inventory.domain import commands
from services.inventory.domain.allocation import Request
from services.inventory.domain.reservation import LinePick, ReleaseReason

# Names the reservation an order's placement asks for, so a re-published placement finds it.
PLACED_ORDER_RESERVATION = UUID("6f1c1b0e-3c1a-4c77-9a51-0d8a3f0c6a01")
RESELLABLE = "resellable"


def _order_placed(env: Envelope) -> commands.ReserveStock:
    # Until orchestration's routing sends reserve_stock commands (issue 5), inventory answers
    # placed orders itself, picking each line's location.
    event = OrderPlaced.model_validate(env.data)
    return commands.ReserveStock(
        order_id=UUID(event.order_id),
        reservation_id=uuid5(PLACED_ORDER_RESERVATION, event.order_id),
        requests=tuple(
            Request(sku=ln.sku, quantity=ln.quantity, order_line_id=ln.line_id)
            for ln in event.lines
        ),
        ordered_at=event.placed_at,
    )


def _cancellation_requested(env: Envelope) -> commands.ReleaseOrder:
    event = OrderCancellationRequested.model_validate(env.data)
    picks = (
        None if event.whole_order else tuple(LinePick(ln.sku, ln.quantity) for ln in event.lines)
    )
    return commands.ReleaseOrder(order_id=UUID(event.order_id), picks=picks)


def _reserve_stock(env: Envelope) -> commands.ReserveStock:
    cmd = inv.ReserveStock.model_validate(env.data)
    return commands.ReserveStock(
        order_id=UUID(cmd.order_id),
        reservation_id=UUID(cmd.reservation_id) if cmd.reservation_id else None,
        requests=tuple(
            Request(ln.sku, ln.quantity, ln.location_code, ln.line_id) for ln in cmd.lines
        ),
        allow_backorder=cmd.allow_backorder,
        expires_at=cmd.expires_at,
        priority=cmd.priority,
        ordered_at=cmd.ordered_at,
    )


def _picks(lines: list[inv.ReleaseLine] | None) -> tuple[LinePick, ...] | None:
    if lines is None:
        return None
    return tuple(LinePick(ln.sku, ln.quantity, ln.location_code) for ln in lines)


def _release_reservation(env: Envelope) -> commands.ReleaseReservation:
    cmd = inv.ReleaseReservation.model_validate(env.data)
    reason = ReleaseReason.CANCELLED if cmd.reason == "cancelled" else ReleaseReason.RELEASED
    return commands.ReleaseReservation(
        reservation_id=UUID(cmd.reservation_id), picks=_picks(cmd.lines), reason=reason
    )


def _commit_reservation(env: Envelope) -> commands.CommitReservation:
    cmd = inv.CommitReservation.model_validate(env.data)
    return commands.CommitReservation(
        reservation_id=UUID(cmd.reservation_id),
        picks=_picks(cmd.lines),
        shipment_id=cmd.shipment_id,
    )


def _return_received(env: Envelope) -> commands.RestockReturn:
    event = ReturnReceived.model_validate(env.data)
    resellable: dict[str, int] = {}
    for ln in event.lines:
        if ln.sku and ln.condition == RESELLABLE:
            resellable[ln.sku] = resellable.get(ln.sku, 0) + ln.quantity
    return commands.RestockReturn(
        order_id=UUID(event.order_id),
        receipt_id=event.receipt_id,
        location_code=event.location_code,
        lines=tuple(sorted(resellable.items())),
    )


SUBSCRIPTIONS: Subscriptions = {
    ORDER_EVENTS: {
        OrderPlaced.event_type: _order_placed,
        OrderCancellationRequested.event_type: _cancellation_requested,
    },
    INVENTORY_COMMANDS: {
        inv.ReserveStock.event_type: _reserve_stock,
        inv.ReleaseReservation.event_type: _release_reservation,
        inv.CommitReservation.event_type: _commit_reservation,
    },
    RETURNS_EVENTS: {ReturnReceived.event_type: _return_received},
}
