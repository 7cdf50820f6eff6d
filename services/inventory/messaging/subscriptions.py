"""What inventory consumes: (topic, event type) -> the command it becomes.

Orders reach inventory only as orchestration's commands (reserve, release, commit): the saga
owns an order's reservations, so stock is never released twice for one cancellation."""

from __future__ import annotations

from uuid import UUID

from libs.contracts import inventory as inv
from libs.contracts.returns import ReturnReceived
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import INVENTORY_COMMANDS, RETURNS_EVENTS
from services.inventory.domain import commands
from services.inventory.domain.allocation import Request
from services.inventory.domain.reservation import LinePick, ReleaseReason

# Only units the returns policy sends back to stock go on sale; a resellable unit it sends to
# quarantine (or writes off) is not restocked.
RESTOCK = "restock"


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
        reservation_id=UUID(cmd.reservation_id),
        picks=_picks(cmd.lines),
        reason=reason,
        missing_ok=True,
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
    restocked: dict[str, int] = {}
    for ln in event.lines:
        if ln.sku and ln.disposition == RESTOCK:
            restocked[ln.sku] = restocked.get(ln.sku, 0) + ln.quantity
    return commands.RestockReturn(
        order_id=UUID(event.order_id),
        receipt_id=event.receipt_id,
        location_code=event.location_code,
        lines=tuple(sorted(restocked.items())),
    )


SUBSCRIPTIONS: Subscriptions = {
    INVENTORY_COMMANDS: {
        inv.ReserveStock.event_type: _reserve_stock,
        inv.ReleaseReservation.event_type: _release_reservation,
        inv.CommitReservation.event_type: _commit_reservation,
    },
    RETURNS_EVENTS: {ReturnReceived.event_type: _return_received},
}
