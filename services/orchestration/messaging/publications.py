"""What orchestration publishes: each domain event -> the integration event the outbox sends.

One exhaustive `match`: a domain event type added to domain.events.DomainEvent and not
mapped here fails mypy --strict (assert_never), not production. The orchestration events go
to oms.orchestration.events; the three requests to inventory are its commands. The domain
events carry what the published ones carry, field for field and part for part (domain.events),
so each is copied by name (libs.messaging.wire.from_event).
"""

from __future__ import annotations

from typing import assert_never

from libs.contracts import inventory as inv
from libs.contracts import orchestration as orch
from libs.contracts.base import IntegrationEvent
from libs.messaging.wire import from_event
from services.orchestration.domain import events as ev


def translate(event: ev.DomainEvent) -> IntegrationEvent:
    """The integration event published for a domain event, field for field."""
    match event:
        # --- asked of inventory ---------------------------------------------------------
        case ev.StockReservationRequested():
            # A hold until a time: inventory's, not asked for.
            return from_event(inv.ReserveStock, event, left_default=("expires_at",))
        case ev.StockReleaseRequested():
            return from_event(inv.ReleaseReservation, event)
        case ev.StockCommitRequested():
            return from_event(inv.CommitReservation, event)
        # --- routing and the order's course -----------------------------------------------
        case ev.RoutingDecided():
            return from_event(orch.RoutingDecided, event)
        case ev.OrderRouted():
            return from_event(orch.OrderRouted, event)
        case ev.OrderBackordered():
            return from_event(orch.OrderBackordered, event)
        case ev.OrderDelayed():
            return from_event(orch.OrderDelayed, event)
        case ev.OrderOnHold():
            return from_event(orch.OrderOnHold, event)
        case ev.OrderHoldReleased():
            return from_event(orch.OrderHoldReleased, event)
        case ev.PaymentRecoveryExpired():
            return from_event(orch.PaymentRecoveryExpired, event)
        case ev.OrderRejected():
            return from_event(orch.OrderRejected, event)
        case ev.OrderCompleted():
            return from_event(orch.OrderCompleted, event)
        # --- fulfilment orders --------------------------------------------------------------
        case ev.FulfillmentCreated():
            return from_event(orch.FulfillmentCreated, event)
        case ev.FulfillmentAccepted():
            return from_event(orch.FulfillmentAccepted, event)
        case ev.FulfillmentRejected():
            return from_event(orch.FulfillmentRejected, event)
        case ev.FulfillmentPicked():
            return from_event(orch.FulfillmentPicked, event)
        case ev.FulfillmentPacked():
            return from_event(orch.FulfillmentPacked, event)
        case ev.FulfillmentCancelled():
            return from_event(orch.FulfillmentCancelled, event)
        case ev.FulfillmentShipped():
            return from_event(orch.FulfillmentShipped, event)
        case ev.FulfillmentReadyForPickup():
            return from_event(orch.FulfillmentReadyForPickup, event)
        case ev.FulfillmentCollected():
            return from_event(orch.FulfillmentCollected, event)
        case ev.FulfillmentDelivered():
            return from_event(orch.FulfillmentDelivered, event)
        # --- payments -----------------------------------------------------------------------
        case ev.PaymentAuthorized():
            return from_event(orch.PaymentAuthorized, event)
        case ev.PaymentDeclined():
            return from_event(orch.PaymentDeclined, event)
        case ev.PaymentCaptured():
            return from_event(orch.PaymentCaptured, event)
        case ev.PaymentVoided():
            return from_event(orch.PaymentVoided, event)
        case ev.PaymentRefunded():
            return from_event(orch.PaymentRefunded, event)
        case ev.PaymentRefundFailed():
            return from_event(orch.PaymentRefundFailed, event)
        case _:
            assert_never(event)
