"""The saga's data, and the machinery its steps share: moving on through the step table
(steps.py), entering a step's wait, the overdue sweep, completion, releases and holds."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID, uuid5

from libs.money import round_to_currency
from services.orchestration.domain import events as ev
from services.orchestration.domain.fulfillment import Fulfillment, FulfillmentLine, Status
from services.orchestration.domain.order import OrderSnapshot
from services.orchestration.domain.payments import Kind, PaymentOperation
from services.orchestration.domain.routing.arrival import dispatch_deadline
from services.orchestration.domain.saga.definition import SagaDefinition
from services.orchestration.domain.saga.state import (
    FINISHED,
    DispatchPromise,
    Held,
    Hold,
    HoldReason,
    InFlight,
    Payment,
    SagaPolicy,
    SagaState,
    SagaStep,
    backorder_key,
    expected_at,
)


@dataclass
class SagaCore(ABC):
    """What an order saga holds, and the machinery every step uses (OrderSaga puts the steps
    together and names its definition)."""

    # The step table the saga runs on (steps.ORDER_SAGA; OrderSaga sets it).
    definition: ClassVar[SagaDefinition[Any]]

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
    # The latest hold's detail, or why it waits for stock (kept after either ends).
    hold_reason: str | None = None
    hold: Hold | None = None  # the hold it is in now
    holds: int = 0  # holds so far: each has an id of its own
    payment: Payment = field(default_factory=Payment)
    # What was promised to leave when, not yet left (the worker's sweep finds the late ones).
    promises: list[DispatchPromise] = field(default_factory=list)
    delays: int = 0  # order_delayed events so far: each has an id of its own
    # Units of a lapsed backorder are being routed again: should nothing serve them before
    # the waiting room's deadline, the order is held `backorder_lapsed` (not `unroutable`).
    backorder_lapsed: bool = False
    version: int = 0
    # Produced by this unit of work, written by the repository at commit.
    new_steps: list[SagaStep] = field(default_factory=list)
    events: list[ev.DomainEvent] = field(default_factory=list)
    new_operations: list[PaymentOperation] = field(default_factory=list)
    # Every fulfilment order of the order, loaded and locked with the saga.
    fulfillments: list[Fulfillment] = field(default_factory=list)
    # The service's configured policy; set when the saga is loaded, never stored with it.
    policy: SagaPolicy = field(default_factory=SagaPolicy, repr=False, compare=False)

    @property
    def key(self) -> str:
        return str(self.order_id)

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED

    @property
    def dispatch_due_at(self) -> datetime | None:
        """When the first promised dispatch is late, if nothing leaves before."""
        return min((p.due for p in self.promises), default=None)

    # --- steps of another module ----------------------------------------------------------

    @abstractmethod
    def release(self, note: str, now: datetime) -> None:
        """Take the order off hold (holds.py); a new payment method releases it too."""

    @abstractmethod
    def _wait_for_stock(self, why: str, now: datetime) -> None:
        """Nothing can serve it now: to the waiting room (routing.py)."""

    @abstractmethod
    def _acceptance_overdue(self, now: datetime) -> None:
        """Fulfilment orders not accepted in time are rejected for it (compensation.py)."""

    @abstractmethod
    def dispatch_overdue(self, now: datetime) -> None:
        """A promised dispatch passed with its units still there (delays.py); overdue()
        finds it."""

    # --- moving on through the steps --------------------------------------------------------

    def _run_from(self, step: str, now: datetime) -> None:
        """Move on through the step table from `step`: each step does its action in turn,
        until one waits (for a reply, for the worker, or at the end)."""
        for s in self.definition.from_step(step):
            if s.action.run is not None and s.action.run(self, now):
                return

    def _advance(self, now: datetime) -> None:
        """Reserved and nothing waits for incoming stock: authorise the money once, then hand
        held units to their locations."""
        self._run_from("authorize", now)

    def _enter(self, state: SagaState, now: datetime) -> None:
        """Move to the step of `state`, waiting as its table entry says (when the worker looks
        again, when it stops waiting)."""
        wait = self.definition.step_in(state).deadline
        due = wait.due(self, now) if wait is not None and wait.due is not None else None
        deadline = wait.at(self, now) if wait is not None and wait.at is not None else None
        self._move(state, now, due=due, deadline=deadline)

    def overdue(self, now: datetime) -> None:
        """The worker found the saga past its deadline (or a promised dispatch past due): the
        step it is at says what an expired wait means (steps.py: each step's deadline)."""
        if (due := self.dispatch_due_at) is not None and due <= now:
            self.dispatch_overdue(now)
        if self.deadline_at is None or self.deadline_at > now:
            return
        wait = self.definition.step_in(self.state).deadline
        if wait is not None and wait.on_expiry is not None:
            wait.on_expiry(self, now)

    # --- payment operations and the acceptance deadline ------------------------------------

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
            self._enter(SagaState.ROUTING, now)
            return
        self.check_completion(now)
        if not self.is_finished and self.state is not SagaState.FULFILLING:
            # The deadline holds only while a fulfilment still waits to be accepted.
            self._enter(SagaState.FULFILLING, now)

    def _settle(self, now: datetime) -> bool:
        """The last step's action: route what is left, or follow the fulfilments to the end
        (_next). The saga waits here: replies and the worker move it on."""
        self._next(now)
        return True

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
            self._enter(SagaState.COMPLETED, now)
            self.events.append(ev.OrderCompleted(order_id=self.key, completed_at=now))
        else:
            self._enter(SagaState.CANCELLED, now)

    # --- dispatch promises ----------------------------------------------------------------

    def _promise_dispatch(self, key: str, units: Sequence[Held], ready_at: datetime) -> None:
        """Units ready at `ready_at` (on hand now, or their stock expected then) are promised
        to leave by the end of their location's ship date for that moment."""
        first = units[0]
        lines: dict[str, int] = {}
        for h in units:
            lines[h.line_id] = lines.get(h.line_id, 0) + h.quantity
        self.promises = [p for p in self.promises if p.key != key]
        self.promises.append(
            DispatchPromise(
                key=key,
                location_code=first.location_code,
                due=dispatch_deadline(first, ready_at),
                lines=lines,
                timezone=first.timezone,
                cutoff=first.cutoff,
                processing_days=first.processing_days,
            )
        )

    def _promise_backorders(self, now: datetime) -> None:
        """Each reservation's backordered units at a location are promised from the date
        their stock is expected (kept once made: a re-promise or a late dispatch moves it);
        units no longer waiting are no longer promised here (their fulfilment is)."""
        waiting = self._waiting_by_backorder()
        self.promises = [
            p for p in self.promises if not p.key.startswith("backorder:") or p.key in waiting
        ]
        known = {p.key for p in self.promises}
        for key, units in waiting.items():
            if key not in known:
                self._promise_dispatch(key, units, expected_at(units) or now)

    def _waiting_by_backorder(self) -> dict[str, list[Held]]:
        """The held units still waiting for incoming stock, by their backorder's promise key
        (state.backorder_key)."""
        waiting: dict[str, list[Held]] = {}
        for h in self.held:
            if h.backordered:
                waiting.setdefault(backorder_key(h.reservation_id, h.location_code), []).append(h)
        return waiting

    def _delayed(
        self,
        code: str,
        reason: str,
        lines: dict[str, int],
        previous: datetime | None,
        estimate: datetime | None,
        now: datetime,
    ) -> None:
        """Tell everyone the order leaves later than promised (or, with no estimate, that
        when is not known yet)."""
        self.delays += 1
        self.events.append(
            ev.OrderDelayed(
                order_id=self.key,
                delay_id=str(uuid5(self.order_id, f"delay-{self.delays}")),
                reason_code=code,
                reason=reason,
                lines=tuple(
                    ev.SkuLineQuantity(
                        line_id=line_id, sku=self.order.line(line_id).sku, quantity=n
                    )
                    for line_id, n in sorted(lines.items())
                    if n > 0
                ),
                previous_estimate=previous,
                new_estimate=estimate,
                delayed_at=now,
            )
        )
        later = f"now {estimate.isoformat()}" if estimate else "not known yet"
        self._step("order_delayed", f"{reason}: dispatch {later}", now)

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
                ev.StockReleaseRequested(
                    order_id=self.key,
                    reservation_id=rid,
                    reason=reason,
                    lines=tuple(
                        ev.StockUnits(sku=u.sku, quantity=u.quantity, location_code=u.location_code)
                        for u in units
                        if u.reservation_id == rid and u.quantity
                    ),
                )
            )

    def _hold(self, reason: HoldReason, detail: str, now: datetime) -> None:
        """Stop before fulfilment: the held stock is released and its units wait to be planned
        again when the hold is released. Already held: the hold it is in stays."""
        if self.state is SagaState.ON_HOLD:
            self._step("hold_kept", f"{reason.value}: {detail}", now)
            return
        self.holds += 1
        self.hold = Hold(
            id=str(uuid5(self.order_id, f"hold-{self.round}-{self.holds}")),
            reason=reason,
            detail=detail,
            since=now,
        )
        self.hold_reason = detail
        self._release_held(lambda h: True, "released", now, back_to_routing=True)
        self.events.append(
            ev.OrderOnHold(
                order_id=self.key,
                hold_id=self.hold.id,
                reason=detail,
                reason_code=reason.value,
                held_at=now,
            )
        )
        self._enter(SagaState.ON_HOLD, now)

    def _stop_held(self, step: str, detail: str, now: datetime) -> Hold:
        """A held order stops for good (its stock went with the hold): every unit left is
        counted cancelled and the hold ends with it. Returns the hold it was in; the caller
        announces why, and order-capture cancels the order on that event."""
        hold = self.hold
        assert hold is not None, "only a held order stops this way"
        left = {ln: n for ln, n in self.unrouted.items() if n}
        self._count_cancelled(left, {})
        self.unrouted = {ln: 0 for ln in self.unrouted}
        self.hold = None
        self._step(step, detail, now)
        self._enter(SagaState.CANCELLED, now)
        return hold

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
        if state in FINISHED:
            self.promises = []  # nothing is on its way any more: nothing can be late
        self.state = state
        self.due_at = due
        self.deadline_at = deadline
        self.updated_at = now

    def _step(self, name: str, detail: str, now: datetime) -> None:
        self.new_steps.append(SagaStep(name, now, detail))
        self.updated_at = now

    @staticmethod
    def _units(units: dict[str, int]) -> int:
        return sum(units.values())
