"""Domain events -> what they leave behind: the integration event (order-capture's published
language on oms.order.events) and the timeline entry of each, decided in this one place; and for
a placed order, its payment token to orchestration alone (oms.payments.commands).

`translate` matches the event union exhaustively: an event type added to domain/events.py and
not mapped here fails mypy --strict, not a commit in production. Bootstrap hands it to the unit
of work and to the placing hot path, which write both in the transaction that recorded them.
"""

from __future__ import annotations

from typing import Any, assert_never

from libs.contracts import orchestration as payments
from libs.contracts import order as contract
from services.order_capture.domain import events
from services.order_capture.domain.model import Order
from services.order_capture.domain.status import OrderStatus
from services.order_capture.domain.values import Address
from services.order_capture.service_layer.unit_of_work import Publication, TimelineEntry


def translate(order: Order, event: events.OrderEvent) -> Publication:
    """The integration event announcing `event` (None for timeline-only facts) and the
    timeline entry it adds."""
    common = {
        "order_id": str(order.id),
        "order_number": order.order_number,
        "sequence": event.sequence,
    }
    match event:
        case events.OrderPlaced():
            return Publication(
                _placed(order, event),
                _entry(event, "placed", status=OrderStatus.PENDING.value),
                # The token goes to orchestration alone, in the same transaction as the order.
                commands=(
                    payments.AuthorizeWith(order_id=str(order.id), token=order.payment.token),
                ),
            )
        case events.OrderUpdated():
            return Publication(
                contract.OrderUpdated(
                    **common,
                    changed_fields=list(event.changed_fields),
                    replan_required=event.replan_required,
                    shipping_address=_address(order.shipping_address),
                    delivery=_delivery(order),
                    customer=_customer(order),
                    notes=order.notes,
                    updated_at=event.at,
                ),
                _entry(event, "updated", details={"changed_fields": list(event.changed_fields)}),
            )
        case events.CancellationRequested():
            skus = {str(line.id): line.sku for line in order.lines}
            return Publication(
                contract.OrderCancellationRequested(
                    **common,
                    cancellation_id=event.cancellation_id,
                    requested_by=event.requested_by,
                    reason=event.reason,
                    lines=[
                        contract.CancelledQuantity(line_id=lid, sku=skus[lid], quantity=q)
                        for lid, q in event.quantities
                        if q > 0
                    ],
                    whole_order=all(line.quantities.open == 0 for line in order.lines),
                    requested_at=event.at,
                ),
                _entry(
                    event,
                    "cancellation_requested",
                    details={
                        "cancellation_id": event.cancellation_id,
                        "requested_by": event.requested_by,
                        "lines": [{"line_id": lid, "quantity": q} for lid, q in event.quantities],
                    },
                ),
            )
        case events.OrderCancelled():
            return Publication(
                contract.OrderCancelled(**common, reason=event.reason, cancelled_at=event.at),
                _entry(event, "cancelled"),
            )
        case events.StatusChanged():
            return Publication(
                contract.OrderStatusChanged(
                    **common,
                    previous_status=event.previous_status,
                    status=event.status,
                    reason=event.reason,
                    source=event.source,
                    changed_at=event.at,
                ),
                _entry(
                    event,
                    "status_changed",
                    previous_status=event.previous_status,
                    status=event.status,
                ),
            )
        case events.PriorityChanged():
            return Publication(
                contract.OrderPriorityChanged(
                    **common,
                    priority=event.priority,
                    previous_priority=event.previous_priority,
                    reason=event.reason,
                    changed_at=event.at,
                ),
                _entry(event, "priority_changed", details={"priority": event.priority}),
            )
        case events.FactRecorded():
            # Its source published it already: a timeline entry only.
            return Publication(None, _entry(event, event.kind, details=event.details))
        case _:
            assert_never(event)


def _entry(
    event: events.OrderEvent,
    kind: str,
    *,
    previous_status: str | None = None,
    status: str | None = None,
    details: dict[str, Any] | None = None,
) -> TimelineEntry:
    return TimelineEntry(
        occurred_at=event.at,
        source=event.source,
        reason=event.reason,
        kind=kind,
        event_sequence=event.sequence if event.published else None,
        previous_status=previous_status,
        status=status,
        details={} if details is None else details,
    )


def _placed(order: Order, event: events.OrderPlaced) -> contract.OrderPlaced:
    totals = order.totals
    return contract.OrderPlaced(
        order_id=str(order.id),
        order_number=order.order_number,
        sequence=event.sequence,
        channel=order.channel.value,
        channel_order_ref=order.channel_order_ref,
        currency=order.currency,
        customer_email=order.customer.email,
        customer=_customer(order),
        shipping_address=_address(order.shipping_address),
        billing_address=_address(order.billing_address) if order.billing_address else None,
        delivery=_delivery(order),
        payment=contract.EventPayment(
            method=order.payment.method,
            amount=order.payment.amount,
            authorization_ref=order.payment.authorization_ref,
        ),
        lines=[
            contract.PlacedOrderLine(
                line_id=str(line.id),
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_amount=line.discount_amount,
                tax_amount=line.tax_amount,
                line_total=line.line_total,
            )
            for line in order.lines
        ],
        totals=contract.EventTotals(**totals.as_dict()),
        total_amount=totals.grand_total,
        requested_delivery_date=order.requested_delivery_date,
        tags=list(order.tags),
        metadata=order.metadata,
        placed_at=order.created_at,
    )


def _address(address: Address) -> contract.EventAddress:
    return contract.EventAddress(**address.as_dict())


def _delivery(order: Order) -> contract.EventDelivery:
    return contract.EventDelivery(
        method=order.delivery.method.value,
        service_level=order.delivery.service_level.value,
        pickup_location_code=order.delivery.pickup_location_code,
    )


def _customer(order: Order) -> contract.EventCustomer:
    c = order.customer
    return contract.EventCustomer(id=c.id, email=c.email, name=c.name, phone=c.phone)
