"""The saga's routing and inventory's answers to its reservations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Self
from uuid import UUID, uuid5

from services.orchestration.domain import commands
from services.orchestration.domain import events as ev
from services.orchestration.domain.order import OrderSnapshot
from services.orchestration.domain.routing.arrival import DispatchCalendar
from services.orchestration.domain.routing.model import CandidateReport, Outcome, RoutingDecision
from services.orchestration.domain.saga.core import SagaCore, expected_at
from services.orchestration.domain.saga.events import (
    _describe,
    _describe_stock,
    _parts_of,
    _routed_part,
)
from services.orchestration.domain.saga.state import (
    Held,
    InFlight,
    SagaPolicy,
    SagaState,
)

# The event names the chosen locations and the best of the rest, up to this many; every
# candidate's verdict stays in the stored decision (GET /v1/orders/{id}/routing-decisions).
# A network of a hundred locations that all could serve made the event 12 KB, read by
# every consumer of orchestration's topic.
ANNOUNCED_CANDIDATES = 10


def _announced(decision: RoutingDecision) -> list[CandidateReport]:
    chosen = {p.location_code for p in decision.parts}
    return sorted(
        decision.candidates,
        key=lambda c: (c.location_code not in chosen, not c.eligible, -(c.total or 0.0)),
    )[:ANNOUNCED_CANDIDATES]


class ReservationFlow(SagaCore):
    """Routing the unrouted units and reserving them, with inventory's answers."""

    # --- start and routing ---------------------------------------------------------------

    @classmethod
    def start(
        cls,
        order_id: UUID,
        order: OrderSnapshot,
        now: datetime,
        policy: SagaPolicy | None = None,
    ) -> Self:
        saga = cls(order_id, order, SagaState.ROUTING, now, now, due_at=now)
        saga.policy = policy or SagaPolicy()
        saga.unrouted = {ln.line_id: ln.quantity for ln in order.lines}
        saga._step("order_placed", f"{len(order.lines)} lines to route", now)
        return saga

    def routing_unavailable(self, error: str, retry_at: datetime, now: datetime) -> None:
        """Inventory could not be asked: wait and try again; the order is not failed for it."""
        self.routing_attempts += 1
        self.due_at = retry_at
        self.updated_at = now
        if self.routing_attempts <= 3 or self.routing_attempts % 10 == 0:
            self._step("routing_retry", f"attempt {self.routing_attempts}: {error}", now)

    def _wait_for_stock(self, why: str, now: datetime) -> None:
        """Nothing can serve it now: wait in the waiting room, planned again when something
        that could change the answer happens (see SagaState.WAITING_FOR_STOCK), held
        `unroutable` once it has waited policy.waiting_max."""
        self.replans = 0
        self.hold_reason = why
        self._step("waiting_for_stock", why, now)
        self._move(
            SagaState.WAITING_FOR_STOCK,
            now,
            due=now + self.policy.waiting_recheck,
            deadline=now + self.policy.waiting_max,
        )

    def keep_waiting(self, now: datetime) -> None:
        """Planned again from the waiting room, and still nothing can serve it: the next
        look is a recheck away (or sooner, when stock changes); the deadline stays."""
        self.due_at = now + self.policy.waiting_recheck
        self.updated_at = now

    def apply_routing(
        self,
        decision: RoutingDecision,
        now: datetime,
        geo: Mapping[str, tuple[float | None, bool]] | None = None,
        calendars: Mapping[str, DispatchCalendar] | None = None,
    ) -> str | None:
        """The worker's plan for the unrouted units; returns the decision id it stored."""
        if self.state not in (SagaState.ROUTING, SagaState.WAITING_FOR_STOCK):
            return None
        if decision.outcome is Outcome.UNROUTABLE and self.state is SagaState.WAITING_FOR_STOCK:
            self.keep_waiting(now)  # the same answer again: nothing new to decide or say
            return None
        self.round += 1
        self.routing_attempts = 0
        self.due_at = None
        decision_id = str(uuid5(self.order_id, f"decision-{self.round}"))
        self.events.append(self._decided_event(decision, decision_id, now))
        if decision.outcome is Outcome.UNROUTABLE:
            self._step("routing_failed", decision.reason or decision.explanation, now)
            self._wait_for_stock(f"no location can serve it: {decision.reason}", now)
            return decision_id
        reservation_id = str(uuid5(self.order_id, f"reservation-{self.round}"))
        self.backorder_lapsed = False  # served again (or backordered anew)
        geo = geo or {}
        calendars = calendars or {}
        asked = [
            Held(
                reservation_id,
                part.location_code,
                a.line_id,
                a.sku,
                a.quantity,
                distance_km=geo.get(part.location_code, (None, True))[0],
                domestic=geo.get(part.location_code, (None, True))[1],
                **_calendar_of(calendars.get(part.location_code)),
            )
            for part in decision.parts
            for a in part.allocations
        ]
        for h in asked:
            self.unrouted[h.line_id] -= h.quantity
        self.in_flight = InFlight(reservation_id, decision_id, asked)
        self.events.append(
            ev.StockReservationRequested(
                order_id=self.key,
                reservation_id=reservation_id,
                lines=tuple(
                    ev.RequestedStock(
                        sku=h.sku,
                        quantity=h.quantity,
                        location_code=h.location_code,
                        line_id=h.line_id,
                    )
                    for h in asked
                ),
                allow_backorder=decision.outcome is Outcome.BACKORDERED,
                ordered_at=self.order.placed_at,
            )
        )
        self._step("routed", decision.explanation, now)
        self._move(SagaState.RESERVING, now, deadline=now + self.policy.reservation_timeout)
        return decision_id

    def _decided_event(
        self, decision: RoutingDecision, decision_id: str, now: datetime
    ) -> ev.RoutingDecided:
        return ev.RoutingDecided(
            order_id=self.key,
            decision_id=decision_id,
            round=self.round,
            outcome=decision.outcome.value,
            strategy_version=decision.strategy_version,
            parts=tuple(
                _routed_part(
                    p.location_code,
                    tuple(
                        ev.SkuLineQuantity(line_id=a.line_id, sku=a.sku, quantity=a.quantity)
                        for a in p.allocations
                    ),
                    sum(a.quantity for a in p.allocations if a.backorder),
                    p.quote.carrier if p.quote else None,
                    p.quote.service if p.quote else None,
                )
                for p in decision.parts
            ),
            candidates=tuple(
                ev.CandidateVerdict(
                    location_code=c.location_code,
                    eligible=c.eligible,
                    failed_filter=next((f.name for f in c.filters if not f.passed), None),
                    reason="; ".join(f.reason for f in c.filters if not f.passed)
                    or (c.filters[-1].reason if c.filters else ""),
                    total=c.total,
                )
                for c in _announced(decision)
            ),
            candidates_considered=len(decision.candidates),
            explanation=decision.explanation,
            decided_at=now,
        )

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
                    **_calendar_of(leg),
                )
            )
        self.events.append(
            ev.OrderRouted(
                order_id=self.key,
                decision_id=flight.decision_id,
                reservation_id=reservation_id,
                parts=_parts_of(self.held, reservation_id),
                routed_at=now,
            )
        )
        self._step("stock_reserved", _describe(flight.lines), now)
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
            self._move(SagaState.ROUTING, now, due=now)

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
        self._step("backorder_allocated", _describe_stock(lines), now)
        self._promise_backorders(now)  # what arrived is promised by its fulfilment now
        if self.state is SagaState.BACKORDERED and not any(h.backordered for h in self.held):
            self._advance(now)

    def _after_reservation(self, now: datetime) -> None:
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
            self._move(SagaState.BACKORDERED, now)
            return
        self._advance(now)

    # --- internals -----------------------------------------------------------------------

    def _line_of(self, sku: str) -> str:
        return next(ln.line_id for ln in self.order.lines if ln.sku == sku)


def _calendar_of(source: DispatchCalendar | None) -> dict[str, Any]:
    """The dispatch calendar a held unit keeps of its location (UTC, no cutoff, no processing
    days when routing did not say)."""
    if source is None:
        return {}
    return {
        "timezone": source.timezone,
        "cutoff": source.cutoff,
        "processing_days": source.processing_days,
    }
