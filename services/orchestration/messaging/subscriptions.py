"""What orchestration consumes: (topic, event type) -> the command it becomes."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from libs.contracts import inventory as inv
from libs.contracts.orchestration import AuthorizeWith
from libs.contracts.order import (
    EventAddress,
    EventDelivery,
    OrderCancellationRequested,
    OrderPlaced,
    OrderPriorityChanged,
    OrderUpdated,
)
from libs.contracts.returns import RefundRequested
from libs.messaging.consumer import Subscriptions
from libs.messaging.envelope import Envelope
from libs.messaging.topics import (
    INVENTORY_EVENTS,
    ORDER_EVENTS,
    PAYMENT_COMMANDS,
    RETURNS_EVENTS,
)
from services.orchestration.domain import commands
from services.orchestration.domain.order import OrderLine, OrderSnapshot, ShipTo
from services.orchestration.domain.routing.model import Method


def _ship_to(address: EventAddress | None, fallback_country: str = "") -> ShipTo:
    if address is None:
        return ShipTo(country=fallback_country)
    return ShipTo(
        country=address.country,
        lat=address.lat,
        lon=address.lon,
        name=address.name,
        line1=address.line1,
        city=address.city,
        postal_code=address.postal_code,
    )


def _method(delivery: EventDelivery | None) -> Method:
    return Method.PICKUP if delivery and delivery.method == "pickup" else Method.SHIP


def _order_placed(env: Envelope) -> commands.StartSaga:
    e = OrderPlaced.model_validate(env.data)
    lines = tuple(
        OrderLine(
            ln.line_id,
            ln.sku,
            ln.quantity,
            ln.line_total
            if ln.line_total is not None
            else ln.unit_price * ln.quantity - ln.discount_amount + ln.tax_amount,
        )
        for ln in e.lines
    )
    pickup = e.delivery.pickup_location_code if e.delivery else None
    billing_country = e.billing_address.country if e.billing_address else ""
    order = OrderSnapshot(
        order_number=e.order_number,
        channel=e.channel,
        currency=e.currency,
        placed_at=e.placed_at,
        lines=lines,
        ship_to=_ship_to(e.shipping_address, billing_country),
        method=_method(e.delivery),
        service_level=e.delivery.service_level if e.delivery else "standard",
        pickup_location=pickup,
        grand_total=e.totals.grand_total if e.totals else e.total_amount,
        shipping_amount=e.totals.shipping_amount if e.totals else Decimal("0"),
        customer_email=e.customer_email,
        requested_delivery_date=e.requested_delivery_date,
        # The worker's later steps continue this story: their events carry its correlation id
        # and name the placed event as their cause.
        extra={
            "correlation_id": env.correlationid,
            "causation_id": env.id,
            "billing_country": billing_country,
        },
    )
    return commands.StartSaga(order_id=UUID(e.order_id), order=order)


def _authorize_with(env: Envelope) -> commands.KeepPaymentToken:
    e = AuthorizeWith.model_validate(env.data)
    return commands.KeepPaymentToken(order_id=UUID(e.order_id), token=e.token)


def _order_updated(env: Envelope) -> commands.ChangeDelivery | None:
    e = OrderUpdated.model_validate(env.data)
    if not e.replan_required:
        return None
    return commands.ChangeDelivery(
        order_id=UUID(e.order_id),
        ship_to=_ship_to(e.shipping_address),
        method=_method(e.delivery),
        service_level=e.delivery.service_level,
        pickup_location=e.delivery.pickup_location_code,
    )


def _priority_changed(env: Envelope) -> commands.ChangePriority:
    e = OrderPriorityChanged.model_validate(env.data)
    return commands.ChangePriority(order_id=UUID(e.order_id), priority=e.priority)


def _cancellation_requested(env: Envelope) -> commands.CancelUnits:
    e = OrderCancellationRequested.model_validate(env.data)
    quantities: dict[str, int] = {}
    for ln in e.lines:
        quantities[ln.line_id] = quantities.get(ln.line_id, 0) + ln.quantity
    return commands.CancelUnits(order_id=UUID(e.order_id), quantities=quantities)


def _reservation_confirmed(env: Envelope) -> commands.RecordReservation:
    e = inv.ReservationConfirmed.model_validate(env.data)
    return commands.RecordReservation(
        order_id=UUID(e.order_id),
        reservation_id=e.reservation_id,
        confirmed=True,
        lines=tuple(
            commands.ReservedLine(
                sku=ln.sku,
                location_code=ln.location_code,
                quantity=ln.quantity,
                held=ln.held,
                backordered=ln.backordered,
                expected_at=ln.expected_at,
                line_id=ln.line_id,
            )
            for ln in e.lines
        ),
    )


def _reservation_rejected(env: Envelope) -> commands.RecordReservation:
    e = inv.ReservationRejected.model_validate(env.data)
    short = ", ".join(f"{s.sku} {s.available}/{s.requested}" for s in e.lines)
    return commands.RecordReservation(
        order_id=UUID(e.order_id),
        reservation_id=e.reservation_id,
        confirmed=False,
        reason=f"{e.reason} ({short})" if short else e.reason,
    )


def _backorder_allocated(env: Envelope) -> commands.RecordBackorderAllocation:
    e = inv.BackorderAllocated.model_validate(env.data)
    return commands.RecordBackorderAllocation(
        order_id=UUID(e.order_id),
        reservation_id=e.reservation_id,
        lines=tuple(
            commands.StockLine(sku=ln.sku, location_code=ln.location_code, quantity=ln.quantity)
            for ln in e.lines
        ),
    )


def _backorder_repromised(env: Envelope) -> commands.RecordBackorderRepromise:
    e = inv.BackorderRepromised.model_validate(env.data)
    return commands.RecordBackorderRepromise(
        order_id=UUID(e.order_id),
        reservation_id=e.reservation_id,
        lines=tuple(
            commands.RepromisedLine(
                sku=ln.sku,
                location_code=ln.location_code,
                line_id=ln.line_id,
                backordered=ln.backordered,
                expected_at=ln.expected_at,
                previous_expected_at=ln.previous_expected_at,
                lapsed=ln.lapsed,
            )
            for ln in e.lines
        ),
        reason=e.reason,
    )


def _location_changed(env: Envelope) -> commands.ProjectLocation:
    e = inv.LocationChanged.model_validate(env.data)
    return commands.ProjectLocation(
        code=e.code,
        type=e.type,
        active=e.active,
        capabilities=tuple(e.capabilities),
        country=e.address.country,
        latitude=e.address.latitude,
        longitude=e.address.longitude,
        priority=e.priority,
        daily_capacity=e.daily_order_capacity,
        processing_days=e.processing_days,
        cutoff=e.cutoff_time,
        timezone=e.timezone,
        version=e.location_version,
    )


def _stock_changed(env: Envelope) -> commands.ProjectStock:
    e = inv.StockChanged.model_validate(env.data)
    return commands.ProjectStock(sku=e.sku, location_code=e.location_code, available=e.available)


def _incoming_changed(env: Envelope) -> commands.ProjectIncoming:
    e = inv.IncomingChanged.model_validate(env.data)
    return commands.ProjectIncoming(sku=e.sku, location_code=e.location_code, incoming=e.incoming)


def _refund_requested(env: Envelope) -> commands.RequestRefund:
    e = RefundRequested.model_validate(env.data)
    return commands.RequestRefund(
        order_id=UUID(e.order_id),
        refund_id=e.refund_id,
        amount=e.amount,
        lines=tuple((ln.line_id, ln.quantity) for ln in e.lines),
    )


SUBSCRIPTIONS: Subscriptions = {
    ORDER_EVENTS: {
        OrderPlaced.event_type: _order_placed,
        OrderUpdated.event_type: _order_updated,
        OrderPriorityChanged.event_type: _priority_changed,
        OrderCancellationRequested.event_type: _cancellation_requested,
    },
    INVENTORY_EVENTS: {
        inv.ReservationConfirmed.event_type: _reservation_confirmed,
        inv.ReservationRejected.event_type: _reservation_rejected,
        inv.BackorderAllocated.event_type: _backorder_allocated,
        inv.BackorderRepromised.event_type: _backorder_repromised,
        # Orchestration's view of inventory, which routing reads (adapters.routing_view).
        inv.LocationChanged.event_type: _location_changed,
        inv.StockChanged.event_type: _stock_changed,
        inv.IncomingChanged.event_type: _incoming_changed,
    },
    RETURNS_EVENTS: {RefundRequested.event_type: _refund_requested},
    PAYMENT_COMMANDS: {AuthorizeWith.event_type: _authorize_with},
}
