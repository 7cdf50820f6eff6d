"""The fulfil step: held units handed to their locations as fulfilment orders, followed as the
locations accept them and the units leave (shipped or collected)."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid5

from services.orchestration.domain import events as ev
from services.orchestration.domain.fulfillment import (
    Action,
    Fulfillment,
    FulfillmentLine,
    Status,
)
from services.orchestration.domain.payments import Kind
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.parts import line_quantities
from services.orchestration.domain.saga.state import Held, SagaState


class FulfilmentSteps(SagaCore):
    """Handing units to locations, and the reports that move them on to the customer."""

    def _fulfil(self, now: datetime) -> bool:
        """The fulfil step's action: one fulfilment order per location for the held units
        that are ready (fulfillment_created), each promised to leave by its ship date. The
        next step (complete) follows at once."""
        ready = [h for h in self.held if h.quantity > 0 and not h.backordered]
        by_location: dict[str, list[Held]] = {}
        for h in ready:
            by_location.setdefault(h.location_code, []).append(h)
        for code, held in sorted(by_location.items()):
            f = Fulfillment(
                id=uuid5(self.order_id, f"fulfillment-{self.round}-{code}"),
                order_id=self.order_id,
                location_code=code,
                method=self.order.method.value,
                status=Status.CREATED,
                lines=[
                    FulfillmentLine(h.line_id, h.sku, h.quantity, h.reservation_id) for h in held
                ],
                created_at=now,
                updated_at=now,
                history=[{"status": "created", "at": now.isoformat(), "note": ""}],
                distance_km=held[0].distance_km,
                domestic=held[0].domestic,
            )
            self.fulfillments.append(f)
            self.events.append(
                ev.FulfillmentCreated(
                    order_id=self.key,
                    fulfillment_id=str(f.id),
                    location_code=code,
                    method=f.method,
                    lines=line_quantities(f.lines),
                    created_at=now,
                )
            )
            self._step("fulfillment_created", f"{f.units} units at {code}", now)
            self._promise_dispatch(str(f.id), held, now)
        self.held = [h for h in self.held if h not in ready]
        self.deadline_at = self.acceptance_deadline()
        return False

    def fulfillment_accepted(self, f: Fulfillment, now: datetime) -> None:
        f.move(Action.ACCEPT, now)
        self.events.append(
            ev.FulfillmentAccepted(
                order_id=self.key,
                fulfillment_id=str(f.id),
                location_code=f.location_code,
                accepted_at=now,
            )
        )
        if self.state is SagaState.FULFILLING:
            self.deadline_at = self.acceptance_deadline()

    def fulfillment_left(self, f: Fulfillment, shipment_id: str, now: datetime) -> None:
        """Units left the building (shipped or collected): take them off stock for good and
        capture their share of the money."""
        for rid in sorted({ln.reservation_id for ln in f.lines if ln.quantity}):
            self.events.append(
                ev.StockCommitRequested(
                    order_id=self.key,
                    reservation_id=rid,
                    lines=tuple(
                        ev.StockUnits(
                            sku=ln.sku, quantity=ln.quantity, location_code=f.location_code
                        )
                        for ln in f.lines
                        if ln.quantity and ln.reservation_id == rid
                    ),
                    shipment_id=shipment_id,
                )
            )
        first = not self.shipped
        for ln in f.lines:
            self.shipped[ln.line_id] = self.shipped.get(ln.line_id, 0) + ln.quantity
        amount = self.order.value_of({ln.line_id: ln.quantity for ln in f.lines})
        if first:
            amount += self.order.shipping_amount
        if self._all_accounted():
            amount = self._payable() - self.payment.capture_queued
        amount = min(amount, self.payment.authorized - self.payment.capture_queued)
        self._step("shipped", f"{f.units} units from {f.location_code}", now)
        if amount > 0 and self.payment.status == "authorized":
            self.payment.capture_queued += amount
            self._queue(Kind.CAPTURE, amount, now, shipment_id=shipment_id)
