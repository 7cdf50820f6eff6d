"""The order saga: one order's way from placement to completion, and every compensation.

The saga holds what it has asked for and what it was told; each answer moves it on and
queues what comes next (commands to inventory, payment operations, events) in the same
transaction as its new state. Answers that are stale (an earlier round) or repeated change
nothing, which is what makes redelivery and a crash-and-restart harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from libs.contracts import inventory as inv
from libs.contracts import orchestration as orch
from libs.contracts.base import IntegrationEvent
from libs.money import round_to_currency
from services.orchestration.domain.fulfillment import (
    STOPPABLE,
    UNPICKED,
    Action,
    Fulfillment,
    FulfillmentLine,
    Status,
)
from services.orchestration.domain.order import OrderSnapshot, ShipTo
from services.orchestration.domain.payments import Kind, PaymentOperation, ProviderResult
from services.orchestration.domain.routing.model import Method, Outcome, RoutingDecision

ZERO = Decimal("0")


class SagaState(StrEnum):
    ROUTING = "routing"  # the worker plans (again) at due_at, with fresh availability
    RESERVING = "reserving"  # a reserve command is out; inventory's answer is awaited
    BACKORDERED = "backordered"  # reserved, but some units wait for incoming stock
    AUTHORIZING = "authorizing"  # the payment authorisation is queued
    FULFILLING = "fulfilling"  # fulfilment orders are out; following them to delivery
    COMPLETED = "completed"
    ON_HOLD = "on_hold"  # compensated: stopped before fulfilment, its stock released
    CANCELLED = "cancelled"  # compensated: every unit cancelled, stock released, money voided


FINISHED = frozenset({SagaState.COMPLETED, SagaState.ON_HOLD, SagaState.CANCELLED})


class DeclinePolicy(StrEnum):
    ON_HOLD = "on_hold"
    CANCEL = "cancel"


@dataclass(frozen=True)
class SagaPolicy:
    on_decline: DeclinePolicy = DeclinePolicy.ON_HOLD
    max_replans: int = 3  # rejected reservations in a row before the order goes on hold
    payment_attempts: int = 8  # provider timeouts before an operation counts as failed
    # How long a wait may last before the saga stops waiting and compensates.
    reservation_timeout: timedelta = timedelta(minutes=5)  # for inventory's answer
    acceptance_timeout: timedelta = timedelta(hours=24)  # for a location to accept


@dataclass(frozen=True)
class SagaStep:
    name: str
    at: datetime
    detail: str


@dataclass
class Held:
    """Units a confirmed reservation holds for the order, not yet given to a fulfilment."""

    reservation_id: str
    location_code: str
    line_id: str
    sku: str
    quantity: int
    backordered: int = 0
    # How far the location is from the customer: the carrier selector prices the parcel by it.
    distance_km: float | None = None
    domestic: bool = True


@dataclass
class InFlight:
    """The reservation asked of inventory and not yet answered."""

    reservation_id: str
    decision_id: str
    lines: list[Held]  # what was asked for, by location


@dataclass
class Payment:
    authorized: Decimal = ZERO
    authorization: str | None = None
    status: str = "none"  # none | pending | authorized | declined
    capture_queued: Decimal = ZERO
    captured: Decimal = ZERO
    voided: Decimal = ZERO
    refund_queued: Decimal = ZERO
    refunded: Decimal = ZERO
    operations: int = 0  # queued so far; names the next one
    pending: int = 0  # queued and not answered yet
    refund_ids: list[str] = field(default_factory=list)


@dataclass
class OrderSaga:
    order_id: UUID
    order: OrderSnapshot
    state: SagaState
    started_at: datetime
    updated_at: datetime
    due_at: datetime | None = None
    deadline_at: datetime | None = None
    unrouted: dict[str, int] = field(default_factory=dict)
    held: list[Held] = field(default_factory=list)
    in_flight: InFlight | None = None
    excluded: list[str] = field(default_factory=list)
    round: int = 0
    replans: int = 0
    routing_attempts: int = 0
    shipped: dict[str, int] = field(default_factory=dict)
    cancelled: dict[str, int] = field(default_factory=dict)
    cancel_pending: dict[str, int] = field(default_factory=dict)
    replan_pending: bool = False
    hold_reason: str | None = None
    payment: Payment = field(default_factory=Payment)
    version: int = 0
    # Produced by this unit of work, written by the repository at commit.
    new_steps: list[SagaStep] = field(default_factory=list)
    events: list[IntegrationEvent] = field(default_factory=list)
    new_operations: list[PaymentOperation] = field(default_factory=list)
    # Every fulfilment order of the order, loaded and locked with the saga.
    fulfillments: list[Fulfillment] = field(default_factory=list)
    # The service's configured policy; set when the saga is loaded, never stored with it.
    policy: SagaPolicy = field(default_factory=SagaPolicy, repr=False, compare=False)

    # --- start and routing ---------------------------------------------------------------

    @classmethod
    def start(
        cls,
        order_id: UUID,
        order: OrderSnapshot,
        now: datetime,
        policy: SagaPolicy | None = None,
    ) -> OrderSaga:
        saga = cls(order_id, order, SagaState.ROUTING, now, now, due_at=now)
        saga.policy = policy or SagaPolicy()
        saga.unrouted = {ln.line_id: ln.quantity for ln in order.lines}
        saga._step("order_placed", f"{len(order.lines)} lines to route", now)
        return saga

    @property
    def key(self) -> str:
        return str(self.order_id)

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED

    def routing_unavailable(self, error: str, retry_at: datetime, now: datetime) -> None:
        """Inventory could not be asked: wait and try again; the order is not failed for it."""
        self.routing_attempts += 1
        self.due_at = retry_at
        self.updated_at = now
        if self.routing_attempts <= 3 or self.routing_attempts % 10 == 0:
            self._step("routing_retry", f"attempt {self.routing_attempts}: {error}", now)

    def apply_routing(
        self,
        decision: RoutingDecision,
        now: datetime,
        geo: Mapping[str, tuple[float | None, bool]] | None = None,
    ) -> str | None:
        """The worker's plan for the unrouted units; returns the decision id it stored."""
        if self.state is not SagaState.ROUTING:
            return None
        self.round += 1
        self.routing_attempts = 0
        self.due_at = None
        decision_id = str(uuid5(self.order_id, f"decision-{self.round}"))
        self.events.append(self._decided_event(decision, decision_id, now))
        if decision.outcome is Outcome.UNROUTABLE:
            self._step("routing_failed", decision.reason or decision.explanation, now)
            self._hold(f"no location can serve it: {decision.reason}", now)
            return decision_id
        reservation_id = str(uuid5(self.order_id, f"reservation-{self.round}"))
        geo = geo or {}
        asked = [
            Held(
                reservation_id,
                part.location_code,
                a.line_id,
                a.sku,
                a.quantity,
                distance_km=geo.get(part.location_code, (None, True))[0],
                domestic=geo.get(part.location_code, (None, True))[1],
            )
            for part in decision.parts
            for a in part.allocations
        ]
        for h in asked:
            self.unrouted[h.line_id] -= h.quantity
        self.in_flight = InFlight(reservation_id, decision_id, asked)
        self.events.append(
            inv.ReserveStock(
                order_id=self.key,
                reservation_id=reservation_id,
                lines=[
                    inv.RequestedLine(
                        sku=h.sku,
                        quantity=h.quantity,
                        location_code=h.location_code,
                        line_id=h.line_id,
                    )
                    for h in asked
                ],
                allow_backorder=decision.outcome is Outcome.BACKORDERED,
                ordered_at=self.order.placed_at,
            )
        )
        self._step("routed", decision.explanation, now)
        self._move(SagaState.RESERVING, now, deadline=now + self.policy.reservation_timeout)
        return decision_id

    def _decided_event(
        self, decision: RoutingDecision, decision_id: str, now: datetime
    ) -> orch.RoutingDecided:
        return orch.RoutingDecided(
            order_id=self.key,
            decision_id=decision_id,
            round=self.round,
            outcome=decision.outcome.value,
            strategy_version=decision.strategy_version,
            parts=[
                _routed_part(
                    p.location_code,
                    [
                        orch.SkuLineQuantity(line_id=a.line_id, sku=a.sku, quantity=a.quantity)
                        for a in p.allocations
                    ],
                    sum(a.quantity for a in p.allocations if a.backorder),
                    p.quote.carrier if p.quote else None,
                    p.quote.service if p.quote else None,
                )
                for p in decision.parts
            ],
            candidates=[
                orch.CandidateVerdict(
                    location_code=c.location_code,
                    eligible=c.eligible,
                    failed_filter=next((f.name for f in c.filters if not f.passed), None),
                    reason="; ".join(f.reason for f in c.filters if not f.passed)
                    or (c.filters[-1].reason if c.filters else ""),
                    total=c.total,
                )
                for c in decision.candidates
            ],
            explanation=decision.explanation,
            decided_at=now,
        )

    # --- inventory's answers -------------------------------------------------------------

    def reservation_confirmed(
        self, reservation_id: str, lines: Sequence[inv.ReservedLine], now: datetime
    ) -> None:
        if self.in_flight is None or self.in_flight.reservation_id != reservation_id:
            return  # stale or repeated
        flight, self.in_flight = self.in_flight, None
        self.replans = 0
        geo = {h.location_code: (h.distance_km, h.domestic) for h in flight.lines}
        for ln in lines:
            distance, domestic = geo.get(ln.location_code, (None, True))
            self.held.append(
                Held(
                    reservation_id,
                    ln.location_code,
                    ln.line_id or self._line_of(ln.sku),
                    ln.sku,
                    ln.quantity,
                    ln.backordered,
                    distance,
                    domestic,
                )
            )
        self.events.append(
            orch.OrderRouted(
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
            self._hold(f"stock could not be reserved after {self.replans} plans: {reason}", now)
        else:
            self._move(SagaState.ROUTING, now, due=now)

    def backorder_allocated(
        self, reservation_id: str, lines: Sequence[inv.StockLine], now: datetime
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
        if self.state is SagaState.BACKORDERED and not any(h.backordered for h in self.held):
            self._advance(now)

    def _after_reservation(self, now: datetime) -> None:
        waiting = [h for h in self.held if h.backordered]
        if waiting:
            self.events.append(
                orch.OrderBackordered(
                    order_id=self.key,
                    reservation_id=waiting[0].reservation_id,
                    lines=[
                        orch.SkuLineQuantity(line_id=h.line_id, sku=h.sku, quantity=h.backordered)
                        for h in waiting
                    ],
                    backordered_at=now,
                )
            )
            self._move(SagaState.BACKORDERED, now)
            return
        self._advance(now)

    def _advance(self, now: datetime) -> None:
        """Reserved: authorise the money once, then hand held units to their locations."""
        left = bool(self.held) or self._units(self.unrouted) > 0
        if self.payment.status == "none" and self.order.grand_total > 0 and left:
            self.payment.status = "pending"
            self._queue(Kind.AUTHORIZE, self.order.grand_total, now)
            self._move(SagaState.AUTHORIZING, now)
            return
        if self.payment.status == "pending":
            return
        self._create_fulfillments(now)
        self._next(now)

    def _create_fulfillments(self, now: datetime) -> None:
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
                orch.FulfillmentCreated(
                    order_id=self.key,
                    fulfillment_id=str(f.id),
                    location_code=code,
                    method=f.method,
                    lines=line_quantities(f.lines),
                    created_at=now,
                )
            )
            self._step("fulfillment_created", f"{f.units} units at {code}", now)
        self.held = [h for h in self.held if h not in ready]
        self.deadline_at = self.acceptance_deadline()

    # --- payments ------------------------------------------------------------------------

    def payment_answered(self, op: PaymentOperation, result: ProviderResult, now: datetime) -> None:
        self.payment.pending -= 1
        money = {
            "order_id": self.key,
            "payment_id": str(op.id),
            "amount": op.amount,
            "currency": op.currency,
        }
        if op.kind is Kind.AUTHORIZE:
            self._authorized(op, result, money, now)
        elif op.kind is Kind.CAPTURE:
            if result.approved:
                self.payment.captured += op.amount
                self.events.append(
                    orch.PaymentCaptured(
                        **money,
                        provider_reference=result.reference,
                        shipment_id=op.shipment_id,
                        captured_at=now,
                    )
                )
                self._step("payment_captured", f"{op.amount} {op.currency}", now)
            else:
                self._step("capture_failed", result.reason, now)
        elif op.kind is Kind.VOID:
            self.payment.voided += op.amount
            self.events.append(orch.PaymentVoided(**money, voided_at=now))
            self._step("payment_voided", f"{op.amount} {op.currency}", now)
        elif result.approved:
            self.payment.refunded += op.amount
            self.events.append(
                orch.PaymentRefunded(
                    **money,
                    refund_id=op.refund_id or "",
                    lines=[orch.LineQuantity(line_id=i, quantity=n) for i, n in op.lines],
                    refunded_at=now,
                )
            )
            self._step("payment_refunded", f"{op.amount} {op.currency}", now)
        else:
            self.payment.refund_queued -= op.amount
            self.events.append(
                orch.PaymentRefundFailed(
                    **money, refund_id=op.refund_id or "", reason=result.reason, failed_at=now
                )
            )
            self._step("refund_failed", result.reason, now)
        self.check_completion(now)

    def _authorized(
        self,
        op: PaymentOperation,
        result: ProviderResult,
        money: dict[str, Any],
        now: datetime,
    ) -> None:
        policy = self.policy.on_decline
        if result.approved:
            self.payment.status = "authorized"
            self.payment.authorized = op.amount
            self.payment.authorization = result.reference
            self.events.append(
                orch.PaymentAuthorized(
                    **money, provider_reference=result.reference, authorized_at=now
                )
            )
            self._step("payment_authorized", f"{op.amount} {op.currency}", now)
            if self.state is SagaState.AUTHORIZING:
                self._advance(now)
            return
        self.payment.status = "declined"
        self.events.append(
            orch.PaymentDeclined(
                **money,
                code=result.code,
                reason=result.reason,
                resolution=policy.value,
                declined_at=now,
            )
        )
        self._step("payment_declined", f"{result.code}: {result.reason}", now)
        self._release_held(lambda h: True, "released", now)
        nothing_left = all(
            self.cancelled.get(ln.line_id, 0) >= ln.quantity for ln in self.order.lines
        )
        if policy is DeclinePolicy.CANCEL or nothing_left:
            self.unrouted = {}
            self._move(SagaState.CANCELLED, now)
        else:
            self._hold(f"payment declined ({result.code})", now)

    def request_refund(
        self, refund_id: str, amount: Decimal, lines: Sequence[tuple[str, int]], now: datetime
    ) -> None:
        if refund_id in self.payment.refund_ids:
            return  # the same request again: paid (or refused) once
        self.payment.refund_ids.append(refund_id)
        refundable = self.payment.captured - self.payment.refund_queued
        if amount > refundable:
            self.events.append(
                orch.PaymentRefundFailed(
                    order_id=self.key,
                    payment_id=str(uuid5(self.order_id, f"refund-{refund_id}")),
                    amount=amount,
                    currency=self.order.currency,
                    refund_id=refund_id,
                    reason=f"exceeds the refundable {refundable} {self.order.currency}",
                    failed_at=now,
                )
            )
            self._step("refund_refused", f"{amount} > refundable {refundable}", now)
            return
        self.payment.refund_queued += amount
        self._queue(Kind.REFUND, amount, now, refund_id=refund_id, lines=tuple(lines))

    def _queue(self, kind: Kind, amount: Decimal, now: datetime, **extra: Any) -> None:
        self.payment.operations += 1
        self.payment.pending += 1
        self.new_operations.append(
            PaymentOperation(
                id=uuid5(self.order_id, f"payment-{self.payment.operations}"),
                order_id=self.order_id,
                kind=kind,
                amount=amount,
                currency=self.order.currency,
                created_at=now,
                next_attempt_at=now,
                **extra,
            )
        )

    # --- fulfilment reports --------------------------------------------------------------

    def fulfillment_accepted(self, f: Fulfillment, now: datetime) -> None:
        f.move(Action.ACCEPT, now)
        self.events.append(orch.FulfillmentAccepted(**_fulfillment_ref(self, f), accepted_at=now))
        if self.state is SagaState.FULFILLING:
            self.deadline_at = self.acceptance_deadline()

    def fulfillment_rejected(self, f: Fulfillment, reason: str, now: datetime) -> None:
        units = f.reject(reason, now)
        self.events.append(
            orch.FulfillmentRejected(
                **_fulfillment_ref(self, f),
                reason=reason,
                lines=[orch.LineQuantity(line_id=u.line_id, quantity=u.quantity) for u in units],
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
                inv.CommitReservation(
                    order_id=self.key,
                    reservation_id=rid,
                    lines=[
                        inv.ReleaseLine(
                            sku=ln.sku, quantity=ln.quantity, location_code=f.location_code
                        )
                        for ln in f.lines
                        if ln.quantity and ln.reservation_id == rid
                    ],
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

    # --- waits that ran too long ----------------------------------------------------------

    def overdue(self, now: datetime) -> None:
        """The worker found the saga past its deadline: stop waiting and compensate.

        Inventory silent on a reservation: the reservation is released (the command follows
        the reserve on the same partition, so it also frees stock that is reserved late) and
        the units are planned again, as after a rejection. A location that does not accept its
        fulfilment order in time: the order is rejected for it and re-routed elsewhere.
        """
        if self.deadline_at is None or self.deadline_at > now or self.is_finished:
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

    def acceptance_deadline(self) -> datetime | None:
        """When the oldest fulfilment order still waiting to be accepted is overdue."""
        waiting = [f.created_at for f in self.fulfillments if f.status is Status.CREATED]
        return min(waiting) + self.policy.acceptance_timeout if waiting else None

    # --- completion ----------------------------------------------------------------------

    def _next(self, now: datetime) -> None:
        """After any change: route what is unrouted, or follow the fulfilments to the end."""
        if self.is_finished or self.in_flight is not None:
            return
        if self.state is SagaState.AUTHORIZING and self.payment.status == "pending":
            return  # the authorisation's answer moves it on
        if self.state is SagaState.BACKORDERED and any(h.backordered for h in self.held):
            return  # the backorder allocation moves it on
        if self._units(self.unrouted):
            self._move(SagaState.ROUTING, now, due=now)
            return
        self.check_completion(now)
        if not self.is_finished and self.state is not SagaState.FULFILLING:
            # The deadline holds only while a fulfilment still waits to be accepted.
            self._move(SagaState.FULFILLING, now, deadline=self.acceptance_deadline())

    def check_completion(self, now: datetime) -> None:
        """Finished when no unit is waiting or moving and every payment call is answered."""
        if self.is_finished or self.in_flight is not None or self.payment.pending:
            return
        if self._units(self.unrouted) or self.held:
            return
        if any(not f.is_final for f in self.fulfillments):
            return
        unspent = self.payment.authorized - self.payment.captured - self.payment.voided
        if self.payment.status == "authorized" and unspent > 0:
            self._queue(Kind.VOID, unspent, now)
            return
        if self._units(self.shipped):
            self._move(SagaState.COMPLETED, now)
            self.events.append(orch.OrderCompleted(order_id=self.key, completed_at=now))
        else:
            self._move(SagaState.CANCELLED, now)

    # --- internals -----------------------------------------------------------------------

    def _payable(self) -> Decimal:
        """What the customer owes for the units not cancelled (all of it when none were)."""
        if not self._units(self.cancelled):
            return self.order.grand_total
        kept = {
            ln.line_id: ln.quantity - self.cancelled.get(ln.line_id, 0) for ln in self.order.lines
        }
        return round_to_currency(
            self.order.value_of(kept) + self.order.shipping_amount, self.order.currency
        )

    def _all_accounted(self) -> bool:
        return all(
            self.shipped.get(ln.line_id, 0) + self.cancelled.get(ln.line_id, 0) >= ln.quantity
            for ln in self.order.lines
        )

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
                orch.FulfillmentCancelled(
                    order_id=self.key,
                    fulfillment_id=str(f.id),
                    location_code=f.location_code,
                    reason=why,
                    lines=line_quantities(taken),
                    cancelled_at=now,
                )
            )
        return taken

    def _count_cancelled(self, before: dict[str, int], left: dict[str, int]) -> None:
        for line_id, n in before.items():
            stopped = n - left.get(line_id, 0)
            if stopped:
                self.cancelled[line_id] = self.cancelled.get(line_id, 0) + stopped

    def _take_from_unrouted(self, wanted: dict[str, int]) -> None:
        for line_id, n in wanted.items():
            take = min(n, self.unrouted.get(line_id, 0))
            if take:
                self.unrouted[line_id] -= take
                wanted[line_id] -= take

    def _cancel_held(self, wanted: dict[str, int], now: datetime) -> None:
        released: list[Held] = []
        for h in self.held:
            n = min(wanted.get(h.line_id, 0), h.quantity)
            if n:
                wanted[h.line_id] -= n
                released.append(
                    Held(
                        h.reservation_id,
                        h.location_code,
                        h.line_id,
                        h.sku,
                        n,
                        min(n, h.backordered),
                    )
                )
                h.quantity -= n
                h.backordered = max(0, h.backordered - n)
        self.held = [h for h in self.held if h.quantity > 0]
        self._send_releases(released, "cancelled")

    def _release_held(
        self, which: Any, reason: str, now: datetime, back_to_routing: bool = False
    ) -> None:
        chosen = [h for h in self.held if which(h)]
        self.held = [h for h in self.held if not which(h)]
        if back_to_routing:
            for h in chosen:
                self.unrouted[h.line_id] = self.unrouted.get(h.line_id, 0) + h.quantity
        self._send_releases(chosen, reason)

    def _release(
        self, units: Sequence[FulfillmentLine], location: str, reason: str, now: datetime
    ) -> None:
        self._send_releases(
            [Held(u.reservation_id, location, u.line_id, u.sku, u.quantity) for u in units], reason
        )

    def _send_releases(self, units: Sequence[Held], reason: str) -> None:
        for rid in sorted({u.reservation_id for u in units}):
            self.events.append(
                inv.ReleaseReservation(
                    order_id=self.key,
                    reservation_id=rid,
                    reason=reason,
                    lines=[
                        inv.ReleaseLine(
                            sku=u.sku, quantity=u.quantity, location_code=u.location_code
                        )
                        for u in units
                        if u.reservation_id == rid and u.quantity
                    ],
                )
            )

    def _hold(self, reason: str, now: datetime) -> None:
        self.hold_reason = reason
        self._release_held(lambda h: True, "released", now)
        self.events.append(
            orch.OrderOnHold(
                order_id=self.key,
                hold_id=str(uuid5(self.order_id, f"hold-{self.round}")),
                reason=reason,
                held_at=now,
            )
        )
        self._move(SagaState.ON_HOLD, now)

    def _move(
        self,
        state: SagaState,
        now: datetime,
        *,
        due: datetime | None = None,
        deadline: datetime | None = None,
    ) -> None:
        if state is not self.state:
            self._step(state.value, f"from {self.state.value}", now)
        self.state = state
        self.due_at = due
        self.deadline_at = deadline
        self.updated_at = now

    def _step(self, name: str, detail: str, now: datetime) -> None:
        self.new_steps.append(SagaStep(name, now, detail))
        self.updated_at = now

    def _line_of(self, sku: str) -> str:
        return next(ln.line_id for ln in self.order.lines if ln.sku == sku)

    @staticmethod
    def _units(units: dict[str, int]) -> int:
        return sum(units.values())


def _routed_part(
    code: str,
    lines: list[orch.SkuLineQuantity],
    backordered: int,
    carrier: str | None,
    service: str | None,
) -> orch.RoutedPart:
    return orch.RoutedPart(
        location_code=code, lines=lines, backordered=backordered, carrier=carrier, service=service
    )


def _parts_of(held: Sequence[Held], reservation_id: str) -> list[orch.RoutedPart]:
    by_location: dict[str, list[Held]] = {}
    for h in held:
        if h.reservation_id == reservation_id:
            by_location.setdefault(h.location_code, []).append(h)
    return [
        _routed_part(
            code,
            [orch.SkuLineQuantity(line_id=h.line_id, sku=h.sku, quantity=h.quantity) for h in hs],
            sum(h.backordered for h in hs),
            None,
            None,
        )
        for code, hs in sorted(by_location.items())
    ]


def _fulfillment_ref(saga: OrderSaga, f: Fulfillment) -> dict[str, str]:
    return {"order_id": saga.key, "fulfillment_id": str(f.id), "location_code": f.location_code}


def line_quantities(lines: Sequence[FulfillmentLine]) -> list[orch.LineQuantity]:
    """The lines that still have units, as events name them."""
    return [
        orch.LineQuantity(line_id=ln.line_id, quantity=ln.quantity)
        for ln in lines
        if ln.quantity > 0
    ]


def _describe(held: Sequence[Held]) -> str:
    return ", ".join(f"{h.quantity} x {h.sku} at {h.location_code}" for h in held)


def _describe_stock(lines: Sequence[inv.StockLine]) -> str:
    return ", ".join(f"{ln.quantity} x {ln.sku} at {ln.location_code}" for ln in lines)


def _units(units: Sequence[FulfillmentLine]) -> int:
    return sum(u.quantity for u in units)
