"""Domain events -> integration events (order-capture's published language)."""

from __future__ import annotations

from libs.contracts.base import IntegrationEvent
from libs.contracts.order import OrderPlaced, OrderStatusChanged, PlacedOrderLine
from services.order_capture.domain import events
from services.order_capture.domain.model import Order


def translate(order: Order, event: events.DomainEvent) -> IntegrationEvent:
    match event:
        case events.OrderPlaced():
            return OrderPlaced(
                order_id=str(order.id),
                order_number=order.order_number,
                channel=order.channel,
                channel_order_ref=order.channel_order_ref,
                currency=order.currency,
                customer_email=order.customer_email,
                lines=[
                    PlacedOrderLine(
                        line_id=str(line.id),
                        sku=line.sku,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                    )
                    for line in order.lines
                ],
                total_amount=order.total_amount,
                placed_at=order.created_at,
            )
        case events.OrderStatusChanged():
            return OrderStatusChanged(
                order_id=str(order.id),
                order_number=order.order_number,
                previous_status=event.previous_status,
                status=event.status,
                reason=event.reason,
                changed_at=event.at,
            )
