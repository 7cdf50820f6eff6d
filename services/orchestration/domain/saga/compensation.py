"""Where the saga takes back what its steps did: cancellations (every step's compensation, in
the table's order), address changes, fulfilment orders a location rejects, short-picks or does
not accept in time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from services.orchestration.domain import events as ev
from services.orchestration.domain.fulfillment import (
    STOPPABLE,
    UNPICKED,
    Fulfillment,
    FulfillmentLine,
    Status,
)
from services.orchestration.domain.order import ShipTo
from services.orchestration.domain.routing.model import Method
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.describe import units_of
from services.orchestration.domain.saga.parts import line_quantities
from services.orchestration.domain.saga.state import SagaState


class CompensationSteps(SagaCore):
    """Undoing what a cancellation, an address change or a failed fulfilment takes back."""

    # --- a fulfilment order that fails -------------------------------------------------------

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
        self._step("rerouting", f"{units_of(units)} units from {f.location_code}: {why}", now)
        self._next(now)

    # --- cancellations and edits ---------------------------------------------------------

    def cancel(self, wanted: dict[str, int] | None, now: datetime) -> None:
        """Stop and release whatever of the cancelled units has not left a location: each
        step's compensation takes back what it can, in the table's order (least advanced
        first), then what only a reply still to come will tell (steps.py)."""
        if wanted is None:
            wanted = {ln.line_id: ln.quantity for ln in self.order.lines}
        wanted = dict(wanted)
        before = dict(wanted)
        compensations = list(self.definition.compensations())
        for undo in compensations:
            if undo.now is not None:
                undo.now(self, wanted, now)
        for undo in compensations:
            if undo.later is not None:
                undo.later(self, wanted, now)
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

    def change_priority(self, priority: str) -> None:
        """The order was expedited or taken back to normal: reservations asked from now on
        carry its new place in the backorder queue (those already held keep theirs)."""
        self.order = replace(self.order, priority=priority)

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

    def _withdraw_cancelled(self, wanted: dict[str, int], now: datetime) -> None:
        """The fulfil step's compensation: unshipped fulfilment orders give cancelled units
        back, the least advanced first; `wanted` shrinks by what was taken."""
        order = {s: i for i, s in enumerate(STOPPABLE)}
        for f in sorted(
            (f for f in self.fulfillments if f.status in order), key=lambda f: order[f.status]
        ):
            self._withdraw(
                f, wanted, now, note="cancelled", why="cancelled", release_reason="cancelled"
            )

    # --- waits that ran too long ---------------------------------------------------------

    def _acceptance_overdue(self, now: datetime) -> None:
        """A location did not accept its fulfilment order in time: the order is rejected for
        it and its units re-routed elsewhere."""
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
