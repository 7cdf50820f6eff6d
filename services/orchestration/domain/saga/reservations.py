"""The reserve step and the wait for incoming stock: inventory's answers to the saga's
reservations, and its allocations and new promises for backordered units."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.orchestration.domain import commands
from services.orchestration.domain import events as ev
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.describe import describe_held, describe_stock
from services.orchestration.domain.saga.parts import parts_of
from services.orchestration.domain.saga.routing import calendar_of
from services.orchestration.domain.saga.state import Held, SagaState, expected_at


class ReservationSteps(SagaCore):
    """Inventory's answers to a reservation, and the backorders it left waiting."""

    # --- inventory's answers -------------------------------------------------------------

    def reservation_confirmed(
        self, reservation_id: str, lines: Sequence[commands.ReservedLine], now: datetime
    ) -> None:
        if self.in_flight is None or self.in_flight.reservation_id != reservation_id:
            return  # stale or repeated
        flight, self.in_flight = self.in_flight, None
        self.replans = 0
        asked = {h.location_code: h for h in flight.lines}
        for ln in lines:
            leg = asked.get(ln.location_code)
            self.held.append(
                Held(
                    reservation_id,
                    ln.location_code,
                    ln.line_id or self._line_of(ln.sku),
                    ln.sku,
                    ln.quantity,
                    ln.backordered,
                    leg.distance_km if leg else None,
                    leg.domestic if leg else True,
                    ln.expected_at if ln.backordered else None,
                    **calendar_of(leg),
                )
            )
        self.events.append(
            ev.OrderRouted(
                order_id=self.key,
                decision_id=flight.decision_id,
                reservation_id=reservation_id,
                parts=parts_of(self.held, reservation_id),
                routed_at=now,
            )
        )
        self._step("stock_reserved", describe_held(flight.lines), now)
        if self.cancel_pending:
            wanted, self.cancel_pending = self.cancel_pending, {}
            before = dict(wanted)
            self._cancel_held(wanted, now)
            self._count_cancelled(before, wanted)
        if self.replan_pending:
            self.replan_pending = False
            self._release_held(lambda h: True, "released", now, back_to_routing=True)
        self._after_reservation(now)

    def reservation_rejected(self, reservation_id: str, reason: str, now: datetime) -> None:
        if self.in_flight is None or self.in_flight.reservation_id != reservation_id:
            return
        flight, self.in_flight = self.in_flight, None
        for h in flight.lines:
            self.unrouted[h.line_id] += h.quantity
        before = dict(self.cancel_pending)
        self._take_from_unrouted(self.cancel_pending)
        self._count_cancelled(before, self.cancel_pending)
        self.cancel_pending = {}
        self.replans += 1
        self._step("reservation_rejected", reason, now)
        if not self._units(self.unrouted):
            self._after_reservation(now)
        elif self.replans > self.policy.max_replans:
            self._wait_for_stock(
                f"stock could not be reserved after {self.replans} plans: {reason}", now
            )
        else:
            self._enter(SagaState.ROUTING, now)

    def backorder_allocated(
        self, reservation_id: str, lines: Sequence[commands.StockLine], now: datetime
    ) -> None:
        for ln in lines:
            left = ln.quantity
            for h in self.held:
                if (
                    left
                    and h.reservation_id == reservation_id
                    and h.sku == ln.sku
                    and (h.location_code == ln.location_code and h.backordered)
                ):
                    n = min(left, h.backordered)
                    h.backordered -= n
                    left -= n
        self._step("backorder_allocated", describe_stock(lines), now)
        self._promise_backorders(now)  # what arrived is promised by its fulfilment now
        if self.state is SagaState.BACKORDERED and not any(h.backordered for h in self.held):
            self._advance(now)

    def _after_reservation(self, now: datetime) -> None:
        """Reserved: move on through the steps from the wait for incoming stock."""
        self._run_from("wait for incoming stock", now)

    def _wait_for_backorders(self, now: datetime) -> bool:
        """The wait for incoming stock's action: units backordered are promised from when
        their stock is expected (order_backordered), and the saga waits for inventory's
        allocation. Nothing backordered: the next step follows at once."""
        waiting = [h for h in self.held if h.backordered]
        if waiting:
            self._promise_backorders(now)
            self.events.append(
                ev.OrderBackordered(
                    order_id=self.key,
                    reservation_id=waiting[0].reservation_id,
                    lines=tuple(
                        ev.SkuLineQuantity(line_id=h.line_id, sku=h.sku, quantity=h.backordered)
                        for h in waiting
                    ),
                    expected_at=expected_at(waiting),
                    backordered_at=now,
                )
            )
            self._enter(SagaState.BACKORDERED, now)
            return True
        return False

    def _reservation_overdue(self, now: datetime) -> None:
        """Inventory stayed silent on the reservation in flight: it is released (the command
        follows the reserve on the same partition, so it also frees stock reserved late) and
        the units are planned again, as after a rejection. No reservation in flight:
        fulfilment orders of an earlier round wait to be accepted."""
        if self.in_flight is None:
            self._acceptance_overdue(now)
            return
        flight = self.in_flight
        self._step("reservation_timed_out", f"no answer to {flight.reservation_id}", now)
        self._send_releases(flight.lines, "released")
        self.reservation_rejected(flight.reservation_id, "inventory did not answer in time", now)

    def _cancel_in_flight(self, wanted: dict[str, int], now: datetime) -> None:
        """The reserve step's later compensation: cancelled units of the reservation in flight
        are released when inventory answers (cancel_pending)."""
        if self.in_flight is not None:
            for line_id, n in wanted.items():
                if n:
                    self.cancel_pending[line_id] = self.cancel_pending.get(line_id, 0) + n

    # --- internals -----------------------------------------------------------------------

    def _line_of(self, sku: str) -> str:
        return next(ln.line_id for ln in self.order.lines if ln.sku == sku)
