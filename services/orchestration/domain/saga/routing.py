"""The route step, and the waiting room: the worker plans the unrouted units (routing_decided)
and asks inventory to reserve them (reserve_stock); when no location can serve them, the
order waits for stock that could."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self
from uuid import UUID, uuid5

from services.orchestration.domain import events as ev
from services.orchestration.domain.order import OrderSnapshot
from services.orchestration.domain.routing.arrival import DispatchCalendar
from services.orchestration.domain.routing.model import CandidateReport, Outcome, RoutingDecision
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.describe import span_text
from services.orchestration.domain.saga.parts import routed_part
from services.orchestration.domain.saga.state import (
    Held,
    HoldReason,
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


class RoutingSteps(SagaCore):
    """Planning the unrouted units and asking inventory for them; waiting when nothing can
    serve them."""

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
        self._enter(SagaState.WAITING_FOR_STOCK, now)

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
                **calendar_of(calendars.get(part.location_code)),
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
                priority=self.order.backorder_priority,
            )
        )
        self._step("routed", decision.explanation, now)
        self._enter(SagaState.RESERVING, now)
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
                routed_part(
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

    def _drop_unrouted(self, wanted: dict[str, int], now: datetime) -> None:
        """The route step's compensation: cancelled units not routed yet are simply dropped;
        `wanted` shrinks by them."""
        self._take_from_unrouted(wanted)

    def _waiting_overdue(self, now: datetime) -> None:
        """Nothing served it within policy.waiting_max: held `unroutable` (or
        `backorder_lapsed`, when the units came back from a lapsed backorder)."""
        waited = now - self.started_at
        self._hold(
            HoldReason.BACKORDER_LAPSED if self.backorder_lapsed else HoldReason.UNROUTABLE,
            f"no location could serve it in {span_text(waited)}: {self.hold_reason or ''}",
            now,
        )


def calendar_of(source: DispatchCalendar | None) -> dict[str, Any]:
    """The dispatch calendar a held unit keeps of its location (UTC, no cutoff, no processing
    days when routing did not say)."""
    if source is None:
        return {}
    return {
        "timezone": source.timezone,
        "cutoff": source.cutoff,
        "processing_days": source.processing_days,
    }
