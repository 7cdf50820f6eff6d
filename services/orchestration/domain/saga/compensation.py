"""Fulfilment reports, cancellations, re-plans and overdue waits: where the saga compensates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.orchestration.domain import events as ev
from services.orchestration.domain.fulfillment import (
    STOPPABLE,
    UNPICKED,
    Action,
    Fulfillment,
    FulfillmentLine,
    Status,
)
from services.orchestration.domain.order import ShipTo
from services.orchestration.domain.payments import Kind
from services.orchestration.domain.routing.model import Method
from services.orchestration.domain.saga.core import SagaCore, span_text
from services.orchestration.domain.saga.events import _units, line_quantities
from services.orchestration.domain.saga.state import HoldReason, SagaState


class CompensationFlow(SagaCore):
    """Following the fulfilment orders, and undoing what a rejection, cancellation, address
    change or overdue wait takes back."""

    # --- fulfilment reports --------------------------------------------------------------

    def fulfillment_accepted(self, f: Fulfillment, now: datetime) -> None:
        f.move(Action.ACCEPT, now)
        self.events.append(ev.FulfillmentAccepted(**_fulfillment_ref(self, f), accepted_at=now))
        if self.state is SagaState.FULFILLING:
            self.deadline_at = self.acceptance_deadline()

    def fulfillment_rejected(self, f: Fulfillment, reason: str, now: datetime) -> None:
        units = f.reject(reason, now)
        self.events.append(
            ev.FulfillmentRejected(
                **_fulfillment_ref(self, f),
                reason=reason,
                lines=tuple(ev.LineQuantity(line_id=u.line_id, quantity=u.quantity) for u in units),
                rejected_at=now,
            )
        )
        self.fulfillment_gave_back(f, units, reason, now)

    def fulfillment_gave_back(
        self, f: Fulfillment, units: Sequence[FulfillmentLine], why: str, now: datetime
    ) -> None:
        """A location rejected or short-picked: release its units there and route them
        elsewhere, never to this location again."""
        if f.location_code not in self.excluded:
            self.excluded.append(f.location_code)
        self._release(units, f.location_code, "released", now)
        for u in units:
            self.unrouted[u.line_id] = self.unrouted.get(u.line_id, 0) + u.quantity
        self._step("rerouting", f"{_units(units)} units from {f.location_code}: {why}", now)
        self._next(now)

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

    # --- cancellations and edits ---------------------------------------------------------

    def cancel(self, wanted: dict[str, int] | None, now: datetime) -> None:
        """Stop and release whatever of the cancelled units has not left a location."""
        if wanted is None:
            wanted = {ln.line_id: ln.quantity for ln in self.order.lines}
        wanted = dict(wanted)
        before = dict(wanted)
        self._take_from_unrouted(wanted)
        self._cancel_held(wanted, now)
        order = {s: i for i, s in enumerate(STOPPABLE)}
        for f in sorted(
            (f for f in self.fulfillments if f.status in order), key=lambda f: order[f.status]
        ):
            self._withdraw(
                f, wanted, now, note="cancelled", why="cancelled", release_reason="cancelled"
            )
        if self.in_flight is not None:
            for line_id, n in wanted.items():
                if n:
                    self.cancel_pending[line_id] = self.cancel_pending.get(line_id, 0) + n
        self._count_cancelled(before, wanted)
        stopped = self._units(before) - self._units(wanted)
        self._step("cancellation", f"{stopped} units stopped", now)
        if self.state is SagaState.ON_HOLD and not self._units(self.unrouted) and not self.held:
            # Nothing is left to hold: the hold ends with the order (once any authorised
            # money is voided: check_completion queues the void and ends it on the answer).
            self.hold = None
            self._step("hold_ended", "every unit cancelled", now)
            self.state = SagaState.FULFILLING
            self.check_completion(now)
            return
        self._next(now)

    def replan(
        self,
        ship_to: ShipTo,
        method: Method,
        service_level: str,
        pickup_location: str | None,
        now: datetime,
    ) -> None:
        """The address or delivery changed: whatever is not picked yet is planned again."""
        self.order = self.order.with_address(ship_to, method, service_level, pickup_location)
        if self.is_finished:
            return
        for f in self.fulfillments:
            if f.status in UNPICKED:
                taken = self._withdraw(
                    f,
                    {ln.line_id: ln.quantity for ln in f.lines},
                    now,
                    note="re-planned",
                    why="re-planned after an address change",
                    release_reason="released",
                )
                for u in taken:
                    self.unrouted[u.line_id] = self.unrouted.get(u.line_id, 0) + u.quantity
        if self.in_flight is not None:
            self.replan_pending = True
        self._release_held(lambda h: True, "released", now, back_to_routing=True)
        self._step("replan", f"ship to {ship_to.city or ship_to.country}", now)
        self._next(now)

    # --- waits that ran too long ---------------------------------------------------------

    def overdue(self, now: datetime) -> None:
        """The worker found the saga past its deadline: stop waiting and compensate.

        Inventory silent on a reservation: the reservation is released (the command follows
        the reserve on the same partition, so it also frees stock that is reserved late) and
        the units are planned again, as after a rejection. A location that does not accept its
        fulfilment order in time: the order is rejected for it and re-routed elsewhere.
        """
        if (due := self.dispatch_due_at) is not None and due <= now:
            self.dispatch_overdue(now)
        if self.deadline_at is None or self.deadline_at > now:
            return
        if self.hold is not None and self.hold.reason is HoldReason.PAYMENT_DECLINED:
            self.payment_recovery_expired(now)
            return
        if self.is_finished:
            return
        if self.state is SagaState.WAITING_FOR_STOCK:
            waited = now - self.started_at
            self._hold(
                HoldReason.BACKORDER_LAPSED if self.backorder_lapsed else HoldReason.UNROUTABLE,
                f"no location could serve it in {span_text(waited)}: {self.hold_reason or ''}",
                now,
            )
            return
        if self.state is SagaState.RESERVING and self.in_flight is not None:
            flight = self.in_flight
            self._step("reservation_timed_out", f"no answer to {flight.reservation_id}", now)
            self._send_releases(flight.lines, "released")
            self.reservation_rejected(
                flight.reservation_id, "inventory did not answer in time", now
            )
            return
        late = [
            f
            for f in self.fulfillments
            if f.status is Status.CREATED and f.created_at + self.policy.acceptance_timeout <= now
        ]
        for f in late:
            self.fulfillment_rejected(f, "not accepted in time", now)
        if not late:
            # Nothing waits any more (say, accepted meanwhile): the deadline moves on or goes.
            self.deadline_at = self.acceptance_deadline()

    # --- internals -----------------------------------------------------------------------

    def _withdraw(
        self,
        f: Fulfillment,
        wanted: dict[str, int],
        now: datetime,
        *,
        note: str,
        why: str,
        release_reason: str,
    ) -> list[FulfillmentLine]:
        """Take units off an unshipped fulfilment order (`note` is kept on it), release their
        stock there and announce it with `why`; `wanted` shrinks by what was taken."""
        taken = f.withdraw(wanted, now, note)
        if taken:
            self._release(taken, f.location_code, release_reason, now)
            self.events.append(
                ev.FulfillmentCancelled(
                    order_id=self.key,
                    fulfillment_id=str(f.id),
                    location_code=f.location_code,
                    reason=why,
                    lines=line_quantities(taken),
                    cancelled_at=now,
                )
            )
        return taken


def _fulfillment_ref(saga: SagaCore, f: Fulfillment) -> dict[str, str]:
    return {"order_id": saga.key, "fulfillment_id": str(f.id), "location_code": f.location_code}
