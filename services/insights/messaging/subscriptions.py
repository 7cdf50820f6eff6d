"""What insights consumes: the business events its projection is made of, each turned into
the facts it keeps (domain/facts.py). Times are the event's own: its payload's timestamp, or
the CloudEvent `time` where the payload has none (stock levels, reservations), never the time
it is processed, so a rebuild from the topics gives the same figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from libs.contracts import inventory as inv
from libs.contracts import orchestration as orc
from libs.contracts import order as ord_
from libs.contracts import returns as ret
from libs.contracts.base import IntegrationEvent
from libs.messaging.consumer import Subscriptions, Translator
from libs.messaging.envelope import Envelope
from libs.registry import service
from services.insights.domain import facts as f
from services.insights.domain.commands import RecordFacts

CONSUMED_TOPICS = service("insights").consumes

E = TypeVar("E", bound=IntegrationEvent)

# A hold code is absent in events written before holds had codes.
UNSPECIFIED_HOLD = "unspecified"
DISPATCH_OVERDUE = "dispatch_overdue"


def _translator(
    contract: type[E], facts_of: Callable[[E, datetime], tuple[f.Fact, ...]]
) -> Translator:
    def translate(env: Envelope) -> RecordFacts | None:
        event = contract.model_validate(env.data)
        found = facts_of(event, env.time)
        return RecordFacts(env.type, found) if found else None

    return translate


def _placed(e: ord_.OrderPlaced, _: datetime) -> tuple[f.Fact, ...]:
    lines = tuple(f.PlacedLine(ln.line_id, ln.sku, ln.quantity) for ln in e.lines)
    return (
        f.OrderPlaced(UUID(e.order_id), e.channel, e.currency, e.total_amount, e.placed_at, lines),
    )


def _cancelled(e: ord_.OrderCancelled, _: datetime) -> tuple[f.Fact, ...]:
    return (f.OrderCancelled(UUID(e.order_id), e.cancelled_at),)


def _routed(e: orc.OrderRouted, _: datetime) -> tuple[f.Fact, ...]:
    locations = len({part.location_code for part in e.parts})
    return (f.OrderPlanned(UUID(e.order_id), locations),)


def _delayed(e: orc.OrderDelayed, _: datetime) -> tuple[f.Fact, ...]:
    if e.reason_code != DISPATCH_OVERDUE:
        return ()
    return (f.DispatchOverdue(UUID(e.order_id), e.delayed_at),)


def _on_hold(e: orc.OrderOnHold, _: datetime) -> tuple[f.Fact, ...]:
    code = e.reason_code or UNSPECIFIED_HOLD
    return (f.OrderHeld(UUID(e.order_id), e.hold_id, code, e.held_at),)


def _fulfilment(e: orc.FulfillmentCreated, _: datetime) -> tuple[f.Fact, ...]:
    return (f.FulfilmentCreated(UUID(e.order_id), e.fulfillment_id, e.location_code, e.created_at),)


def _shipped_lines(lines: list[orc.LineQuantity]) -> tuple[f.ShippedLine, ...]:
    return tuple(f.ShippedLine(ln.line_id, ln.quantity) for ln in lines)


def _shipped(e: orc.FulfillmentShipped, _: datetime) -> tuple[f.Fact, ...]:
    lines = _shipped_lines(e.lines)
    return (f.Shipped(UUID(e.order_id), e.shipment_id, e.location_code, e.shipped_at, lines),)


def _collected(e: orc.FulfillmentCollected, _: datetime) -> tuple[f.Fact, ...]:
    lines = _shipped_lines(e.lines)
    order_id = UUID(e.order_id)
    shipped = f.Shipped(order_id, e.shipment_id, e.location_code, e.collected_at, lines, True)
    return (shipped,)


def _delivered(e: orc.FulfillmentDelivered, _: datetime) -> tuple[f.Fact, ...]:
    return (f.Delivered(UUID(e.order_id), e.shipment_id, e.location_code, e.delivered_at),)


def _reserved(e: inv.ReservationConfirmed, at: datetime) -> tuple[f.Fact, ...]:
    if not any(line.backordered for line in e.lines):
        return ()
    return (f.BackorderStarted(UUID(e.order_id), e.reservation_id, at),)


def _allocated(e: inv.BackorderAllocated, at: datetime) -> tuple[f.Fact, ...]:
    if e.still_backordered:
        return ()
    return (f.BackorderEnded(UUID(e.order_id), e.reservation_id, at),)


def _repromised(e: inv.BackorderRepromised, at: datetime) -> tuple[f.Fact, ...]:
    if e.still_backordered:
        return ()
    return (f.BackorderEnded(UUID(e.order_id), e.reservation_id, at),)


def _stock(e: inv.StockChanged, at: datetime) -> tuple[f.Fact, ...]:
    return (f.StockLevel(e.sku, e.location_code, e.available, e.network_available, at),)


def _low(e: inv.LowStock, at: datetime) -> tuple[f.Fact, ...]:
    return (f.LowStockThreshold(e.sku, e.threshold, at),)


def _location(e: inv.LocationChanged, _: datetime) -> tuple[f.Fact, ...]:
    return (f.LocationCapacity(e.code, e.daily_order_capacity, e.location_version),)


def _return_requested(e: ret.ReturnRequested, _: datetime) -> tuple[f.Fact, ...]:
    lines = tuple(f.ReturnLine(ln.line_id, ln.sku, ln.quantity, ln.reason) for ln in e.lines)
    return (f.ReturnRequested(UUID(e.order_id), e.return_id, e.requested_at, lines),)


def _return_rejected(e: ret.ReturnRejected, _: datetime) -> tuple[f.Fact, ...]:
    return (f.ReturnRejected(UUID(e.order_id), e.return_id),)


def _refunded(e: ret.ReturnRefunded, _: datetime) -> tuple[f.Fact, ...]:
    order_id = UUID(e.order_id)
    return (f.Refunded(order_id, e.refund_id, e.return_id, e.amount, e.currency, e.refunded_at),)


_TRANSLATORS: dict[type[IntegrationEvent], Translator] = {
    ord_.OrderPlaced: _translator(ord_.OrderPlaced, _placed),
    ord_.OrderCancelled: _translator(ord_.OrderCancelled, _cancelled),
    orc.OrderRouted: _translator(orc.OrderRouted, _routed),
    orc.OrderDelayed: _translator(orc.OrderDelayed, _delayed),
    orc.OrderOnHold: _translator(orc.OrderOnHold, _on_hold),
    orc.FulfillmentCreated: _translator(orc.FulfillmentCreated, _fulfilment),
    orc.FulfillmentShipped: _translator(orc.FulfillmentShipped, _shipped),
    orc.FulfillmentCollected: _translator(orc.FulfillmentCollected, _collected),
    orc.FulfillmentDelivered: _translator(orc.FulfillmentDelivered, _delivered),
    inv.ReservationConfirmed: _translator(inv.ReservationConfirmed, _reserved),
    inv.BackorderAllocated: _translator(inv.BackorderAllocated, _allocated),
    inv.BackorderRepromised: _translator(inv.BackorderRepromised, _repromised),
    inv.StockChanged: _translator(inv.StockChanged, _stock),
    inv.LowStock: _translator(inv.LowStock, _low),
    inv.LocationChanged: _translator(inv.LocationChanged, _location),
    ret.ReturnRequested: _translator(ret.ReturnRequested, _return_requested),
    ret.ReturnRejected: _translator(ret.ReturnRejected, _return_rejected),
    ret.ReturnRefunded: _translator(ret.ReturnRefunded, _refunded),
}


def _topic(topic: str) -> dict[str, Translator]:
    return {cls.event_type: tr for cls, tr in _TRANSLATORS.items() if cls.topic == topic}


SUBSCRIPTIONS: Subscriptions = {topic: _topic(topic) for topic in CONSUMED_TOPICS}
