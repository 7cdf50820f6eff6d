"""Holds a person puts on an order and takes off it (POST /v1/orders/{id}/hold, /release)."""

from __future__ import annotations

from datetime import datetime

from services.orchestration.domain import events as ev
from services.orchestration.domain.errors import HoldNotPossible, NotInReview, NotOnHold
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.state import Hold, HoldReason, SagaState


class HoldSteps(SagaCore):
    """Holding an order before fulfilment, and releasing it to be planned again."""

    def put_on_hold(self, reason: HoldReason, note: str, now: datetime) -> None:
        """Hold the order before anything is handed to a location: its stock is released and
        its units wait for the release. 409 when it cannot be held now, with why."""
        if self.state is SagaState.ON_HOLD:
            raise HoldNotPossible("the order is already on hold", reason="already_on_hold")
        if self.state in (SagaState.COMPLETED, SagaState.CANCELLED):
            raise HoldNotPossible(f"the order is {self.state.value}", reason="finished")
        if self.in_flight is not None:
            # Inventory's answer is a moment away; holding now would have to undo it.
            busy = HoldNotPossible(
                "a reservation is being made for it; try again in a moment",
                reason="reservation_in_flight",
            )
            busy.headers["Retry-After"] = "1"
            raise busy
        if any(not f.is_final for f in self.fulfillments):
            raise HoldNotPossible(
                "a location is already fulfilling it: cancel the units or have the location "
                "reject its fulfilment order",
                reason="fulfilment_under_way",
            )
        self._hold(reason, note or reason.value, now)

    def release(self, note: str, now: datetime) -> None:
        """Take the order off hold: what is not cancelled is planned again from where it
        stands (a declined payment is authorised again once its stock is reserved)."""
        hold = self.hold
        if self.state is not SagaState.ON_HOLD or hold is None:
            raise NotOnHold(f"the order is {self.state.value}, not on hold")
        self.hold = None
        self.replans = 0
        if self.payment.status == "declined":
            self.payment.status = "none"
        self.events.append(
            ev.OrderHoldReleased(
                order_id=self.key,
                hold_id=hold.id,
                reason=note or "released",
                reason_code=hold.reason.value,
                released_at=now,
            )
        )
        self._step("hold_released", f"{hold.reason.value}: {note or 'released'}", now)
        # Out of the hold into the state that plans what is left, or follows it to the end
        # (planned at once only when units are left: not the route step's usual wait).
        self._move(SagaState.ROUTING, now, due=now if self._units(self.unrouted) else None)
        if not self._units(self.unrouted):
            self._next(now)

    # --- manual review -------------------------------------------------------------------

    def approve(self, note: str, now: datetime) -> None:
        """A person approved the order held for review: it is planned from here."""
        self._in_review()
        self.release(f"approved in review{': ' + note if note else ''}", now)

    def reject(self, reason: str, now: datetime) -> None:
        """A person rejected the order held for review: it stops here and order-capture
        cancels it (nothing was reserved or charged)."""
        self._in_review()
        hold = self._stop_held("rejected_in_review", reason, now)
        self.events.append(
            ev.OrderRejected(order_id=self.key, hold_id=hold.id, reason=reason, rejected_at=now)
        )

    def _in_review(self) -> Hold:
        hold = self.hold
        if hold is None or hold.reason is not HoldReason.REVIEW:
            raise NotInReview(f"the order is {self.state.value}, not held for review")
        return hold
