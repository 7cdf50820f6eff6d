"""What returns consumes: (topic, event type) -> the command it becomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from libs.contracts import orchestration as orch
from libs.contracts.order import OrderPlaced, OrderUpdated
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import ORCHESTRATION_EVENTS, ORDER_EVENTS
from services.returns.domain import commands


def _order_placed(env: Envelope) -> commands.ProjectPlacedOrder:
    e = OrderPlaced.model_validate(env.data)
    return commands.ProjectPlacedOrder(
        order_id=UUID(e.order_id),
        order_number=e.order_number,
        customer_email=e.customer_email,
        currency=e.currency,
        placed_at=e.placed_at,
        lines=tuple(
            commands.KnownLine(
                UUID(ln.line_id),
                ln.sku,
                ln.quantity,
                ln.unit_price,
                ln.discount_amount,
                ln.tax_amount,
                ln.name,
            )
            for ln in e.lines
        ),
        channel=e.channel,
        customer_name=e.customer.name if e.customer else "",
        shipping_amount=e.totals.shipping_amount if e.totals else Decimal("0"),
        grand_total=e.totals.grand_total if e.totals else e.total_amount,
        tags=frozenset(e.tags),
        shipping_address=e.shipping_address.model_dump(mode="json") if e.shipping_address else {},
    )


def _order_updated(env: Envelope) -> commands.UpdateOrderContact:
    e = OrderUpdated.model_validate(env.data)
    return commands.UpdateOrderContact(
        order_id=UUID(e.order_id),
        shipping_address=e.shipping_address.model_dump(mode="json"),
        customer_email=e.customer.email,
        customer_name=e.customer.name,
    )


def _units(lines: Sequence[orch.LineQuantity]) -> dict[UUID, int]:
    total: dict[UUID, int] = {}
    for ln in lines:
        total[UUID(ln.line_id)] = total.get(UUID(ln.line_id), 0) + ln.quantity
    return total


def _shipment(
    order_id: str,
    shipment_id: str,
    lines: Sequence[orch.LineQuantity],
    at: datetime,
    *,
    delivered: bool,
) -> commands.RecordShipment:
    return commands.RecordShipment(UUID(order_id), shipment_id, _units(lines), at, delivered)


def _shipped(env: Envelope) -> commands.RecordShipment:
    e = orch.FulfillmentShipped.model_validate(env.data)
    return _shipment(e.order_id, e.shipment_id, e.lines, e.shipped_at, delivered=False)


def _delivered(env: Envelope) -> commands.RecordShipment:
    e = orch.FulfillmentDelivered.model_validate(env.data)
    return _shipment(e.order_id, e.shipment_id, e.lines, e.delivered_at, delivered=True)


def _collected(env: Envelope) -> commands.RecordShipment:
    """Collected at the store: handed over, so delivered (the window starts now)."""
    e = orch.FulfillmentCollected.model_validate(env.data)
    return _shipment(e.order_id, e.shipment_id, e.lines, e.collected_at, delivered=True)


def _refunded(env: Envelope) -> commands.RecordRefundOutcome:
    e = orch.PaymentRefunded.model_validate(env.data)
    return commands.RecordRefundOutcome(UUID(e.order_id), e.refund_id, succeeded=True)


def _refund_failed(env: Envelope) -> commands.RecordRefundOutcome:
    e = orch.PaymentRefundFailed.model_validate(env.data)
    return commands.RecordRefundOutcome(
        UUID(e.order_id), e.refund_id, succeeded=False, reason=e.reason
    )


SUBSCRIPTIONS: Subscriptions = {
    ORDER_EVENTS: {
        OrderPlaced.event_type: _order_placed,
        OrderUpdated.event_type: _order_updated,
    },
    ORCHESTRATION_EVENTS: {
        orch.FulfillmentShipped.event_type: _shipped,
        orch.FulfillmentDelivered.event_type: _delivered,
        orch.FulfillmentCollected.event_type: _collected,
        orch.PaymentRefunded.event_type: _refunded,
        orch.PaymentRefundFailed.event_type: _refund_failed,
    },
}
