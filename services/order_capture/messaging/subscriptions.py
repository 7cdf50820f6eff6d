"""What order-capture consumes: (topic, event type) -> the report command it becomes.

Each report carries a business key (`fact_key`) so that the same fact applies once even if a
producer published it twice under different event ids; the inbox covers redelivery of one id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from libs.contracts import inventory as inv
from libs.contracts import orchestration as orch
from libs.contracts.returns import ReturnReceived
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import INVENTORY_EVENTS, ORCHESTRATION_EVENTS, RETURNS_EVENTS
from services.order_capture.domain import commands


def _source(env: Envelope) -> str:
    """`/oms/inventory` -> `inventory`: the name the timeline shows."""
    return env.source.rsplit("/", 1)[-1]


class _LineQuantity(Protocol):
    line_id: str
    quantity: int


def _per_line(lines: Sequence[_LineQuantity]) -> dict[UUID, int]:
    """Units per order line; a line named twice in one report counts twice."""
    total: dict[UUID, int] = {}
    for line in lines:
        total[UUID(line.line_id)] = total.get(UUID(line.line_id), 0) + line.quantity
    return total


def _sum_by_sku(pairs: Sequence[tuple[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for sku, quantity in pairs:
        if quantity:
            total[sku] = total.get(sku, 0) + quantity
    return total


def _reservation_confirmed(env: Envelope) -> commands.RecordStockReserved:
    e = inv.ReservationConfirmed.model_validate(env.data)
    return commands.RecordStockReserved(
        order_id=UUID(e.order_id),
        fact_key=f"reservation:{e.reservation_id}",
        source=_source(env),
        at=env.time,
        reason="stock reserved",
        quantities_by_sku=_sum_by_sku([(ln.sku, ln.held) for ln in e.lines]),
        backordered_by_sku=_sum_by_sku([(ln.sku, ln.backordered) for ln in e.lines]),
        details={
            "reservation_id": e.reservation_id,
            "lines": [ln.model_dump(mode="json") for ln in e.lines],
        },
    )


def _backorder_allocated(env: Envelope) -> commands.RecordStockReserved:
    e = inv.BackorderAllocated.model_validate(env.data)
    return commands.RecordStockReserved(
        order_id=UUID(e.order_id),
        fact_key=f"backorder-allocation:{e.allocation_id}",
        source=_source(env),
        at=env.time,
        reason="backordered stock arrived and is held",
        quantities_by_sku=_sum_by_sku([(ln.sku, ln.quantity) for ln in e.lines]),
        details={
            "reservation_id": e.reservation_id,
            "lines": [ln.model_dump(mode="json") for ln in e.lines],
        },
    )


def _reservation_rejected(env: Envelope) -> commands.RecordStockShortage:
    e = inv.ReservationRejected.model_validate(env.data)
    return commands.RecordStockShortage(
        order_id=UUID(e.order_id),
        fact_key=f"reservation-rejected:{e.reservation_id}",
        source=_source(env),
        at=env.time,
        reason=e.reason,
        skus=tuple(s.sku for s in e.lines),
        details={"shortages": [s.model_dump(mode="json") for s in e.lines]},
    )


def _fulfillment_created(env: Envelope) -> commands.RecordAllocation:
    e = orch.FulfillmentCreated.model_validate(env.data)
    return commands.RecordAllocation(
        order_id=UUID(e.order_id),
        fact_key=f"fulfillment:{e.fulfillment_id}",
        source=_source(env),
        at=e.created_at,
        reason=f"fulfilment {e.fulfillment_id} created at {e.location_code}",
        quantities=_per_line(e.lines),
        details={"fulfillment_id": e.fulfillment_id, "location_code": e.location_code},
    )


def _fulfillment_shipped(env: Envelope) -> commands.RecordShipment:
    e = orch.FulfillmentShipped.model_validate(env.data)
    return commands.RecordShipment(
        order_id=UUID(e.order_id),
        fact_key=f"shipment:{e.shipment_id}",
        source=_source(env),
        at=e.shipped_at,
        reason=f"shipped with {e.carrier} ({e.tracking_number})",
        shipment_id=e.shipment_id,
        carrier=e.carrier,
        tracking_number=e.tracking_number,
        tracking_url=e.tracking_url,
        quantities=_per_line(e.lines),
    )


def _fulfillment_delivered(env: Envelope) -> commands.RecordDelivery:
    e = orch.FulfillmentDelivered.model_validate(env.data)
    return commands.RecordDelivery(
        order_id=UUID(e.order_id),
        fact_key=f"delivery:{e.shipment_id}",
        source=_source(env),
        at=e.delivered_at,
        reason=f"shipment {e.shipment_id} delivered",
        shipment_id=e.shipment_id,
        quantities=_per_line(e.lines),
    )


def _payment_refunded(env: Envelope) -> commands.RecordRefund:
    e = orch.PaymentRefunded.model_validate(env.data)
    return commands.RecordRefund(
        order_id=UUID(e.order_id),
        fact_key=f"refund:{e.refund_id}",
        source=_source(env),
        at=e.refunded_at,
        reason=f"refunded {e.amount} {e.currency}",
        quantities=_per_line(e.lines),
        amount=e.amount,
        details={"refund_id": e.refund_id, "amount": str(e.amount), "currency": e.currency},
    )


def _fulfillment_collected(env: Envelope) -> commands.RecordCollection:
    e = orch.FulfillmentCollected.model_validate(env.data)
    return commands.RecordCollection(
        order_id=UUID(e.order_id),
        fact_key=f"collection:{e.shipment_id}",
        source=_source(env),
        at=e.collected_at,
        reason=f"collected at {e.location_code}",
        shipment_id=e.shipment_id,
        carrier="pickup",
        tracking_number=e.shipment_id,
        quantities=_per_line(e.lines),
    )


def _payment_declined(env: Envelope) -> commands.CancelOrder | None:
    # Only the "cancel" resolution concerns the order's units; on_hold arrives as its own event.
    e = orch.PaymentDeclined.model_validate(env.data)
    if e.resolution != "cancel":
        return None
    return commands.CancelOrder(
        order_id=UUID(e.order_id),
        reason=f"payment declined: {e.reason}",
        requested_by="orchestration",
    )


def _order_on_hold(env: Envelope) -> commands.RecordHold:
    e = orch.OrderOnHold.model_validate(env.data)
    return commands.RecordHold(
        order_id=UUID(e.order_id),
        fact_key=f"hold:{e.hold_id}",
        source=_source(env),
        at=e.held_at,
        reason=e.reason,
        held=True,
    )


def _hold_released(env: Envelope) -> commands.RecordHold:
    e = orch.OrderHoldReleased.model_validate(env.data)
    return commands.RecordHold(
        order_id=UUID(e.order_id),
        fact_key=f"hold-released:{e.hold_id}",
        source=_source(env),
        at=e.released_at,
        reason=e.reason,
        held=False,
    )


def _order_delayed(env: Envelope) -> commands.RecordDelay:
    e = orch.OrderDelayed.model_validate(env.data)
    return commands.RecordDelay(
        order_id=UUID(e.order_id),
        fact_key=f"delay:{e.delay_id}",
        source=_source(env),
        at=e.delayed_at,
        reason=e.reason,
        details={
            "reason_code": e.reason_code,
            "previous_estimate": _iso(e.previous_estimate),
            "new_estimate": _iso(e.new_estimate),
            "lines": [ln.model_dump(mode="json") for ln in e.lines],
        },
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _order_completed(env: Envelope) -> commands.RecordCompletion:
    e = orch.OrderCompleted.model_validate(env.data)
    return commands.RecordCompletion(
        order_id=UUID(e.order_id),
        fact_key="completed",
        source=_source(env),
        at=e.completed_at,
        reason="delivered and paid: nothing left to do",
    )


def _return_received(env: Envelope) -> commands.RecordReturn:
    e = ReturnReceived.model_validate(env.data)
    return commands.RecordReturn(
        order_id=UUID(e.order_id),
        fact_key=f"return-receipt:{e.receipt_id}",
        source=_source(env),
        at=e.received_at,
        reason=f"return {e.return_id} received at {e.location_code}",
        quantities=_per_line(e.lines),
        details={"return_id": e.return_id, "receipt_id": e.receipt_id},
    )


def _payment_recovery_expired(env: Envelope) -> commands.CancelOrder:
    e = orch.PaymentRecoveryExpired.model_validate(env.data)
    return commands.CancelOrder(
        order_id=UUID(e.order_id), reason=e.reason, requested_by="orchestration"
    )


def _order_rejected(env: Envelope) -> commands.CancelOrder:
    e = orch.OrderRejected.model_validate(env.data)
    return commands.CancelOrder(
        order_id=UUID(e.order_id),
        reason=f"rejected in review: {e.reason}",
        requested_by="orchestration",
    )


SUBSCRIPTIONS: Subscriptions = {
    INVENTORY_EVENTS: {
        inv.ReservationConfirmed.event_type: _reservation_confirmed,
        inv.ReservationRejected.event_type: _reservation_rejected,
        inv.BackorderAllocated.event_type: _backorder_allocated,
    },
    ORCHESTRATION_EVENTS: {
        orch.FulfillmentCreated.event_type: _fulfillment_created,
        orch.FulfillmentShipped.event_type: _fulfillment_shipped,
        orch.FulfillmentDelivered.event_type: _fulfillment_delivered,
        orch.FulfillmentCollected.event_type: _fulfillment_collected,
        orch.PaymentDeclined.event_type: _payment_declined,
        orch.PaymentRecoveryExpired.event_type: _payment_recovery_expired,
        orch.OrderRejected.event_type: _order_rejected,
        orch.PaymentRefunded.event_type: _payment_refunded,
        orch.OrderOnHold.event_type: _order_on_hold,
        orch.OrderHoldReleased.event_type: _hold_released,
        orch.OrderDelayed.event_type: _order_delayed,
        orch.OrderCompleted.event_type: _order_completed,
    },
    RETURNS_EVENTS: {ReturnReceived.event_type: _return_received},
}
