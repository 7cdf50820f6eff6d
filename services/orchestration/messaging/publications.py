"""What orchestration publishes: each domain event -> the integration event the outbox sends.

One exhaustive `match`: a domain event type added to domain.events.DomainEvent and not
mapped here fails mypy --strict (assert_never), not production. The orchestration events go
to oms.orchestration.events; the three requests to inventory are its commands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import assert_never

from libs.contracts import inventory as inv
from libs.contracts import orchestration as orch
from libs.contracts.base import IntegrationEvent
from services.orchestration.domain import events as ev


def translate(event: ev.DomainEvent) -> IntegrationEvent:
    """The integration event published for a domain event, field for field."""
    match event:
        # --- asked of inventory ---------------------------------------------------------
        case ev.StockReservationRequested():
            return inv.ReserveStock(
                order_id=event.order_id,
                reservation_id=event.reservation_id,
                lines=[
                    inv.RequestedLine(
                        sku=ln.sku,
                        quantity=ln.quantity,
                        location_code=ln.location_code,
                        line_id=ln.line_id,
                    )
                    for ln in event.lines
                ],
                allow_backorder=event.allow_backorder,
                ordered_at=event.ordered_at,
            )
        case ev.StockReleaseRequested():
            return inv.ReleaseReservation(
                order_id=event.order_id,
                reservation_id=event.reservation_id,
                reason=event.reason,
                lines=_stock_lines(event.lines),
            )
        case ev.StockCommitRequested():
            return inv.CommitReservation(
                order_id=event.order_id,
                reservation_id=event.reservation_id,
                lines=_stock_lines(event.lines),
                shipment_id=event.shipment_id,
            )
        # --- routing and the order's course -----------------------------------------------
        case ev.RoutingDecided():
            return orch.RoutingDecided(
                order_id=event.order_id,
                decision_id=event.decision_id,
                round=event.round,
                outcome=event.outcome,
                strategy_version=event.strategy_version,
                parts=_parts(event.parts),
                candidates=[
                    orch.CandidateVerdict(
                        location_code=c.location_code,
                        eligible=c.eligible,
                        failed_filter=c.failed_filter,
                        reason=c.reason,
                        total=c.total,
                    )
                    for c in event.candidates
                ],
                candidates_considered=event.candidates_considered,
                explanation=event.explanation,
                decided_at=event.decided_at,
            )
        case ev.OrderRouted():
            return orch.OrderRouted(
                order_id=event.order_id,
                decision_id=event.decision_id,
                reservation_id=event.reservation_id,
                parts=_parts(event.parts),
                routed_at=event.routed_at,
            )
        case ev.OrderBackordered():
            return orch.OrderBackordered(
                order_id=event.order_id,
                reservation_id=event.reservation_id,
                lines=_sku_lines(event.lines),
                expected_at=event.expected_at,
                backordered_at=event.backordered_at,
            )
        case ev.OrderDelayed():
            return orch.OrderDelayed(
                order_id=event.order_id,
                delay_id=event.delay_id,
                reason_code=event.reason_code,
                reason=event.reason,
                lines=_sku_lines(event.lines),
                previous_estimate=event.previous_estimate,
                new_estimate=event.new_estimate,
                delayed_at=event.delayed_at,
            )
        case ev.OrderOnHold():
            return orch.OrderOnHold(
                order_id=event.order_id,
                hold_id=event.hold_id,
                reason=event.reason,
                reason_code=event.reason_code,
                held_at=event.held_at,
            )
        case ev.OrderHoldReleased():
            return orch.OrderHoldReleased(
                order_id=event.order_id,
                hold_id=event.hold_id,
                reason=event.reason,
                reason_code=event.reason_code,
                released_at=event.released_at,
            )
        case ev.PaymentRecoveryExpired():
            return orch.PaymentRecoveryExpired(
                order_id=event.order_id,
                hold_id=event.hold_id,
                reason=event.reason,
                expired_at=event.expired_at,
            )
        case ev.OrderRejected():
            return orch.OrderRejected(
                order_id=event.order_id,
                hold_id=event.hold_id,
                reason=event.reason,
                rejected_at=event.rejected_at,
            )
        case ev.OrderCompleted():
            return orch.OrderCompleted(order_id=event.order_id, completed_at=event.completed_at)
        # --- fulfilment orders --------------------------------------------------------------
        case ev.FulfillmentCreated():
            return orch.FulfillmentCreated(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                method=event.method,
                lines=_lines(event.lines),
                created_at=event.created_at,
            )
        case ev.FulfillmentAccepted():
            return orch.FulfillmentAccepted(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                accepted_at=event.accepted_at,
            )
        case ev.FulfillmentRejected():
            return orch.FulfillmentRejected(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                reason=event.reason,
                lines=_lines(event.lines),
                rejected_at=event.rejected_at,
            )
        case ev.FulfillmentPicked():
            return orch.FulfillmentPicked(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                lines=_lines(event.lines),
                short=_lines(event.short),
                picked_at=event.picked_at,
            )
        case ev.FulfillmentPacked():
            return orch.FulfillmentPacked(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                packed_at=event.packed_at,
            )
        case ev.FulfillmentCancelled():
            return orch.FulfillmentCancelled(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                reason=event.reason,
                lines=_lines(event.lines),
                cancelled_at=event.cancelled_at,
            )
        case ev.FulfillmentShipped():
            return orch.FulfillmentShipped(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                shipment_id=event.shipment_id,
                carrier=event.carrier,
                service=event.service,
                tracking_number=event.tracking_number,
                tracking_url=event.tracking_url,
                lines=_lines(event.lines),
                shipped_at=event.shipped_at,
            )
        case ev.FulfillmentReadyForPickup():
            return orch.FulfillmentReadyForPickup(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                ready_at=event.ready_at,
            )
        case ev.FulfillmentCollected():
            return orch.FulfillmentCollected(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                shipment_id=event.shipment_id,
                lines=_lines(event.lines),
                collected_at=event.collected_at,
            )
        case ev.FulfillmentDelivered():
            return orch.FulfillmentDelivered(
                order_id=event.order_id,
                fulfillment_id=event.fulfillment_id,
                location_code=event.location_code,
                shipment_id=event.shipment_id,
                lines=_lines(event.lines),
                delivered_at=event.delivered_at,
            )
        # --- payments -----------------------------------------------------------------------
        case ev.PaymentAuthorized():
            return orch.PaymentAuthorized(
                order_id=event.order_id,
                payment_id=event.payment_id,
                amount=event.amount,
                currency=event.currency,
                provider_reference=event.provider_reference,
                authorized_at=event.authorized_at,
            )
        case ev.PaymentDeclined():
            return orch.PaymentDeclined(
                order_id=event.order_id,
                payment_id=event.payment_id,
                amount=event.amount,
                currency=event.currency,
                code=event.code,
                reason=event.reason,
                resolution=event.resolution,
                declined_at=event.declined_at,
            )
        case ev.PaymentCaptured():
            return orch.PaymentCaptured(
                order_id=event.order_id,
                payment_id=event.payment_id,
                amount=event.amount,
                currency=event.currency,
                provider_reference=event.provider_reference,
                shipment_id=event.shipment_id,
                captured_at=event.captured_at,
            )
        case ev.PaymentVoided():
            return orch.PaymentVoided(
                order_id=event.order_id,
                payment_id=event.payment_id,
                amount=event.amount,
                currency=event.currency,
                voided_at=event.voided_at,
            )
        case ev.PaymentRefunded():
            return orch.PaymentRefunded(
                order_id=event.order_id,
                payment_id=event.payment_id,
                amount=event.amount,
                currency=event.currency,
                refund_id=event.refund_id,
                lines=_lines(event.lines),
                refunded_at=event.refunded_at,
            )
        case ev.PaymentRefundFailed():
            return orch.PaymentRefundFailed(
                order_id=event.order_id,
                payment_id=event.payment_id,
                amount=event.amount,
                currency=event.currency,
                refund_id=event.refund_id,
                reason=event.reason,
                failed_at=event.failed_at,
            )
        case _:
            assert_never(event)


def _lines(lines: Iterable[ev.LineQuantity]) -> list[orch.LineQuantity]:
    return [orch.LineQuantity(line_id=ln.line_id, quantity=ln.quantity) for ln in lines]


def _sku_lines(lines: Iterable[ev.SkuLineQuantity]) -> list[orch.SkuLineQuantity]:
    return [
        orch.SkuLineQuantity(line_id=ln.line_id, sku=ln.sku, quantity=ln.quantity) for ln in lines
    ]


def _parts(parts: Iterable[ev.RoutedPart]) -> list[orch.RoutedPart]:
    return [
        orch.RoutedPart(
            location_code=p.location_code,
            lines=_sku_lines(p.lines),
            backordered=p.backordered,
            carrier=p.carrier,
            service=p.service,
        )
        for p in parts
    ]


def _stock_lines(lines: Iterable[ev.StockUnits]) -> list[inv.ReleaseLine]:
    return [
        inv.ReleaseLine(sku=ln.sku, quantity=ln.quantity, location_code=ln.location_code)
        for ln in lines
    ]
