"""What returns publishes: each domain event (domain/events.py) as its integration event on
oms.returns.events (libs.contracts.returns), in one exhaustive match, so an event type left
unmapped fails mypy --strict instead of a commit. The wire speaks strings: ids and enum values
are written out here, and nowhere in the domain."""

from __future__ import annotations

from typing import assert_never

from libs.contracts import returns as wire
from libs.contracts.base import IntegrationEvent
from services.returns.domain import events


def translate(event: events.ReturnEvent) -> IntegrationEvent:
    match event:
        case events.ReturnRequested():
            return wire.ReturnRequested(
                order_id=str(event.order_id),
                return_id=str(event.return_id),
                rma_number=event.rma_number,
                method=event.method.value,
                resolution=event.resolution.value,
                lines=[
                    wire.RequestedLine(
                        line_id=str(ln.line_id),
                        sku=ln.sku,
                        quantity=ln.quantity,
                        reason=ln.reason.value,
                    )
                    for ln in event.lines
                ],
                needs_review=event.needs_review,
                requested_at=event.requested_at,
            )
        case events.ReturnApproved():
            return wire.ReturnApproved(
                order_id=str(event.order_id),
                return_id=str(event.return_id),
                rma_number=event.rma_number,
                carrier=event.carrier,
                tracking_number=event.tracking_number,
                approved_at=event.approved_at,
            )
        case events.ReturnRejected():
            return wire.ReturnRejected(
                order_id=str(event.order_id),
                return_id=str(event.return_id),
                rma_number=event.rma_number,
                reason=event.reason,
                rejected_at=event.rejected_at,
            )
        case events.ReturnReceived():
            return wire.ReturnReceived(
                order_id=str(event.order_id),
                return_id=str(event.return_id),
                receipt_id=str(event.receipt_id),
                location_code=event.location_code,
                lines=[
                    wire.ReturnedLine(
                        line_id=str(ln.line_id),
                        quantity=ln.quantity,
                        condition=ln.condition.value,
                        sku=ln.sku,
                        disposition=ln.disposition.value,
                    )
                    for ln in event.lines
                ],
                received_at=event.received_at,
            )
        case events.RefundRequested():
            return wire.RefundRequested(
                order_id=str(event.order_id),
                return_id=str(event.return_id),
                refund_id=event.refund_id,
                amount=event.amount,
                currency=event.currency,
                lines=_refund_lines(event.lines),
                requested_at=event.requested_at,
            )
        case events.ReturnRefunded():
            return wire.ReturnRefunded(
                order_id=str(event.order_id),
                return_id=str(event.return_id),
                rma_number=event.rma_number,
                refund_id=event.refund_id,
                method=event.method,
                amount=event.amount,
                currency=event.currency,
                lines=_refund_lines(event.lines),
                refunded_at=event.refunded_at,
            )
        case events.ReturnClosed():
            return wire.ReturnClosed(
                order_id=str(event.order_id),
                return_id=str(event.return_id),
                rma_number=event.rma_number,
                refunded_amount=event.refunded_amount,
                currency=event.currency,
                closed_at=event.closed_at,
            )
        case events.ExchangeOrderRequested():
            return wire.ExchangeOrderRequested(
                order_id=str(event.order_id),
                return_id=str(event.return_id),
                rma_number=event.rma_number,
                replacement_sku=event.replacement_sku,
                quantity=event.quantity,
                unit_price=event.unit_price,
                credit=event.credit,
                difference=event.difference,
                currency=event.currency,
                requested_at=event.requested_at,
            )
        case _:
            assert_never(event)


def _refund_lines(lines: tuple[events.RefundLine, ...]) -> list[wire.RefundLine]:
    return [wire.RefundLine(line_id=str(ln.line_id), quantity=ln.quantity) for ln in lines]
