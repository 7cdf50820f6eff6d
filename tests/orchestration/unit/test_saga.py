"""The order saga, driven the way its handlers drive it: routing, inventory's answers,
payments, fulfilment reports, cancellations, edits, refunds and backorders.

Pure: no database, no broker. Routing decisions are built by hand; fulfilment actions mirror
service_layer/handlers/fulfillments.py (check, move, then tell the saga).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID, uuid5

import pytest

from libs.contracts import inventory as inv
from libs.contracts import orchestration as orch
from libs.contracts.base import IntegrationEvent
from services.orchestration.domain import commands
from services.orchestration.domain.fulfillment import (
    Action,
    Fulfillment,
    Shipment,
    Status,
)
from services.orchestration.domain.order import OrderLine, OrderSnapshot, ShipTo
from services.orchestration.domain.payments import (
    Kind,
    OpStatus,
    PaymentOperation,
    ProviderResult,
)
from services.orchestration.domain.routing.model import (
    Allocation,
    CandidateReport,
    FilterVerdict,
    Method,
    Outcome,
    Part,
    RoutingDecision,
)
from services.orchestration.domain.saga import (
    DeclinePolicy,
    HoldReason,
    OrderSaga,
    SagaPolicy,
    SagaState,
)
from services.orchestration.messaging.publications import translate

NOW = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
PLACED = NOW - timedelta(minutes=3)
ORDER_ID = UUID("6f0c1f52-5d9f-4c56-9b8e-0d3a1c2b7e11")
KEY = str(ORDER_ID)

LAMP, MUG = "LAMP-001", "MUG-002"
# 2 lamps for 40.00, a mug for 15.00, 4.95 shipping: 59.95 in all.
LINES = (
    OrderLine("L1", LAMP, 2, Decimal("40.00")),
    OrderLine("L2", MUG, 1, Decimal("15.00")),
)
SHIPPING = Decimal("4.95")
TOTAL = Decimal("59.95")

E = TypeVar("E", bound=IntegrationEvent)


# --- building blocks ----------------------------------------------------------------------


def make_order(
    lines: tuple[OrderLine, ...] = LINES,
    *,
    shipping: Decimal = SHIPPING,
    total: Decimal | None = None,
    method: Method = Method.SHIP,
) -> OrderSnapshot:
    if total is None:
        total = sum((ln.value for ln in lines), Decimal("0")) + shipping
    return OrderSnapshot(
        order_number="ORD-1001",
        channel="web",
        currency="EUR",
        placed_at=PLACED,
        lines=lines,
        ship_to=ShipTo("DE", 52.52, 13.405, "Ada", "Main St 1", "Berlin", "10115"),
        method=method,
        pickup_location="ST-BER" if method is Method.PICKUP else None,
        payment_token="tok_visa",
        grand_total=total,
        shipping_amount=shipping,
    )


def started(order: OrderSnapshot | None = None) -> OrderSaga:
    return OrderSaga.start(ORDER_ID, order or make_order(), NOW)


def alloc(saga: OrderSaga, line_id: str, quantity: int, *, backorder: bool = False) -> Allocation:
    return Allocation(line_id, saga.order.line(line_id).sku, quantity, backorder)


def part(code: str, *allocations: Allocation) -> Part:
    return Part(code, tuple(allocations))


def decision(*parts: Part, outcome: Outcome = Outcome.ROUTED) -> RoutingDecision:
    return RoutingDecision(
        outcome=outcome,
        strategy_version=7,
        candidates=tuple(
            CandidateReport(
                p.location_code,
                (FilterVerdict("stock", True, "in stock"),),
                eligible=True,
                covers_all=len(parts) == 1,
                total=0.8,
            )
            for p in parts
        ),
        parts=parts,
        explanation="Served from " + ", ".join(p.location_code for p in parts) + ".",
    )


def unroutable() -> RoutingDecision:
    return RoutingDecision(
        outcome=Outcome.UNROUTABLE,
        strategy_version=7,
        candidates=(
            CandidateReport(
                "WH-BER",
                (FilterVerdict("active", True, "active"), FilterVerdict("stock", False, "none")),
                eligible=False,
                covers_all=False,
            ),
        ),
        parts=(),
        explanation="No location can serve the order.",
        reason="out of stock everywhere",
    )


def whole_at(saga: OrderSaga, code: str = "WH-BER") -> Part:
    """Every unrouted unit from one location."""
    return part(code, *(alloc(saga, line_id, n) for line_id, n in saga.unrouted.items() if n))


def route(saga: OrderSaga, *parts: Part, outcome: Outcome = Outcome.ROUTED) -> str:
    """Apply a plan; returns the reservation id of the ReserveStock it sent."""
    assert saga.apply_routing(decision(*parts, outcome=outcome), NOW) is not None
    assert saga.in_flight is not None
    return saga.in_flight.reservation_id


def reserved_lines(
    saga: OrderSaga, backordered: Mapping[str, int] | None = None
) -> list[commands.ReservedLine]:
    """Inventory's answer: every line asked for, held (or, as named, backordered)."""
    assert saga.in_flight is not None
    backordered = dict(backordered or {})
    answer = []
    for h in saga.in_flight.lines:
        b = min(backordered.get(h.line_id, 0), h.quantity)
        backordered[h.line_id] = backordered.get(h.line_id, 0) - b
        answer.append(
            commands.ReservedLine(
                sku=h.sku,
                location_code=h.location_code,
                quantity=h.quantity,
                held=h.quantity - b,
                backordered=b,
                line_id=h.line_id,
            )
        )
    return answer


def confirm(saga: OrderSaga, backordered: Mapping[str, int] | None = None) -> str:
    assert saga.in_flight is not None
    rid = saga.in_flight.reservation_id
    saga.reservation_confirmed(rid, reserved_lines(saga, backordered), NOW)
    return rid


def reject_reservation(saga: OrderSaga) -> str:
    assert saga.in_flight is not None
    rid = saga.in_flight.reservation_id
    saga.reservation_rejected(rid, "insufficient stock", NOW)
    return rid


def pending(saga: OrderSaga, kind: Kind | None = None) -> list[PaymentOperation]:
    return [
        op
        for op in saga.new_operations
        if op.status is OpStatus.PENDING and (kind is None or op.kind is kind)
    ]


def answer(
    saga: OrderSaga,
    kind: Kind,
    *,
    approved: bool = True,
) -> PaymentOperation:
    """The provider answered the oldest pending operation of that kind (as the worker
    records it: the operation settled first, then the saga told)."""
    ops = pending(saga, kind)
    assert ops, f"no pending {kind} operation"
    op = ops[0]
    result = (
        ProviderResult(True, reference=f"psp-{op.kind.value}-{saga.payment.operations}")
        if approved
        else ProviderResult(False, code="declined", reason="card declined")
    )
    op.status = OpStatus.SUCCEEDED if approved else OpStatus.FAILED
    op.code, op.reason, op.reference = result.code, result.reason, result.reference
    saga.payment_answered(op, result, NOW)
    return op


def fulfilling(*parts: Part, order: OrderSnapshot | None = None) -> OrderSaga:
    """Routed as planned (default: everything from WH-BER), reserved and authorised."""
    saga = started(order)
    route(saga, *(parts or (whole_at(saga),)))
    confirm(saga)
    answer(saga, Kind.AUTHORIZE)
    assert state(saga) is SagaState.FULFILLING
    return saga


def at(saga: OrderSaga, code: str) -> Fulfillment:
    """The newest fulfilment order at that location."""
    return [f for f in saga.fulfillments if f.location_code == code][-1]


def act(
    saga: OrderSaga,
    f: Fulfillment,
    action: Action,
    *,
    picked: Mapping[str, int] | None = None,
    reason: str | None = None,
) -> None:
    """What handlers/fulfillments.py does for a reported action (events aside)."""
    if not f.check(action):
        return
    if action is Action.ACCEPT:
        saga.fulfillment_accepted(f, NOW)
    elif action is Action.REJECT:
        saga.fulfillment_rejected(f, reason or "rejected by the location", NOW)
    elif action is Action.PICK:
        shorts = f.pick(dict(picked or {ln.line_id: ln.quantity for ln in f.lines}), NOW)
        if f.units == 0:
            f.status = Status.CANCELLED
            f.reason = "nothing could be picked"
        if shorts:
            saga.fulfillment_gave_back(f, shorts, "short pick", NOW)
    elif action is Action.SHIP:
        shipment_id = str(uuid5(f.id, "shipment"))
        f.shipment = Shipment(shipment_id, "DHL", "parcel", f"TRK-{f.id}", None, NOW)
        f.move(Action.SHIP, NOW)
        saga.fulfillment_left(f, shipment_id, NOW)
    elif action is Action.COLLECT:
        shipment_id = str(uuid5(f.id, "collection"))
        f.shipment = Shipment(shipment_id, "pickup", None, shipment_id, None, NOW)
        f.move(Action.COLLECT, NOW)
        saga.fulfillment_left(f, shipment_id, NOW)
        saga.check_completion(NOW)
    elif action is Action.DELIVER:
        f.move(Action.DELIVER, NOW)
        saga.check_completion(NOW)
    else:  # pack, ready for pickup: a status move only
        f.move(action, NOW)


def ship(saga: OrderSaga, f: Fulfillment) -> None:
    for action in (Action.ACCEPT, Action.PICK, Action.PACK, Action.SHIP):
        act(saga, f, action)


def state(saga: OrderSaga) -> SagaState:
    """Read afresh each time (an `assert saga.state is ...` would narrow it for mypy)."""
    return saga.state


def published(saga: OrderSaga) -> list[IntegrationEvent]:
    """What the saga's events are published as (what the outbox sends)."""
    return [translate(e) for e in saga.events]


def events(saga: OrderSaga, cls: type[E]) -> list[E]:
    return [e for e in published(saga) if isinstance(e, cls)]


def releases(saga: OrderSaga) -> list[tuple[str, str, list[tuple[str, int, str | None]]]]:
    """Every ReleaseReservation as (reservation, reason, [(sku, units, location)])."""
    return [
        (e.reservation_id, e.reason, [(ln.sku, ln.quantity, ln.location_code) for ln in e.lines])
        for e in events(saga, inv.ReleaseReservation)
        if e.lines is not None
    ]


def amounts(saga: OrderSaga, kind: Kind) -> list[Decimal]:
    return [op.amount for op in saga.new_operations if op.kind is kind]


def without_log(saga: OrderSaga) -> OrderSaga:
    """The saga minus its audit trail, to compare states before and after a repeat."""
    return replace(copy.deepcopy(saga), new_steps=[], updated_at=NOW)


# --- start and routing --------------------------------------------------------------------


def test_a_placed_order_waits_to_be_routed_now() -> None:
    saga = started()

    assert state(saga) is SagaState.ROUTING
    assert saga.due_at == NOW
    assert saga.unrouted == {"L1": 2, "L2": 1}
    assert saga.key == KEY
    assert not saga.is_finished
    assert [s.name for s in saga.new_steps] == ["order_placed"]


def test_inventory_unavailable_postpones_routing_and_a_plan_resets_the_attempts() -> None:
    saga = started()
    retry_at = NOW + timedelta(seconds=2)

    saga.routing_unavailable("connection refused", retry_at, NOW)
    saga.routing_unavailable("connection refused", retry_at, NOW)

    assert (saga.state, saga.due_at, saga.routing_attempts) == (SagaState.ROUTING, retry_at, 2)
    route(saga, whole_at(saga))
    assert saga.routing_attempts == 0


def test_a_plan_sends_one_reserve_command_naming_the_location_of_every_line() -> None:
    saga = started()

    decision_id = saga.apply_routing(
        decision(
            part("WH-BER", alloc(saga, "L1", 2)),
            part("WH-HAM", alloc(saga, "L2", 1)),
        ),
        NOW,
        geo={"WH-BER": (4.2, True), "WH-HAM": (255.0, True)},
    )

    assert decision_id == str(uuid5(ORDER_ID, "decision-1"))
    (reserve,) = events(saga, inv.ReserveStock)
    assert reserve.reservation_id == str(uuid5(ORDER_ID, "reservation-1"))
    assert [(ln.line_id, ln.sku, ln.quantity, ln.location_code) for ln in reserve.lines] == [
        ("L1", LAMP, 2, "WH-BER"),
        ("L2", MUG, 1, "WH-HAM"),
    ]
    assert reserve.allow_backorder is False
    assert reserve.ordered_at == PLACED
    (decided,) = events(saga, orch.RoutingDecided)
    assert (decided.decision_id, decided.round, decided.outcome) == (decision_id, 1, "routed")
    assert [p.location_code for p in decided.parts] == ["WH-BER", "WH-HAM"]
    assert state(saga) is SagaState.RESERVING
    assert saga.deadline_at == NOW + timedelta(minutes=5)
    assert saga.due_at is None
    assert saga.unrouted == {"L1": 0, "L2": 0}
    assert saga.round == 1


def test_a_plan_applied_again_changes_nothing() -> None:
    saga = started()
    route(saga, whole_at(saga))
    before = copy.deepcopy(saga)

    assert saga.apply_routing(decision(part("WH-HAM", alloc(saga, "L1", 2))), NOW) is None
    assert saga == before


def test_the_routing_event_names_the_chosen_and_the_best_others_and_counts_them_all() -> None:
    saga = started()
    chosen = part("WH-CHOSEN", alloc(saga, "L1", 2), alloc(saga, "L2", 1))
    others = [
        CandidateReport(
            f"WH-{n:02d}",
            (FilterVerdict("stock", n % 3 != 0, "in stock" if n % 3 else "none"),),
            eligible=n % 3 != 0,
            covers_all=True,
            total=(n / 100) if n % 3 else None,
        )
        for n in range(30)
    ]
    routed = replace(decision(chosen), candidates=(*others, decision(chosen).candidates[0]))

    saga.apply_routing(routed, NOW)

    (decided,) = events(saga, orch.RoutingDecided)
    assert decided.candidates_considered == 31
    assert len(decided.candidates) == 10
    assert decided.candidates[0].location_code == "WH-CHOSEN"
    best_others = sorted((c for c in others if c.eligible), key=lambda c: -(c.total or 0))
    assert [c.location_code for c in decided.candidates[1:]] == [
        c.location_code for c in best_others[:9]
    ]


def test_an_unroutable_order_waits_for_stock_without_reserving() -> None:
    saga = started()

    decision_id = saga.apply_routing(unroutable(), NOW)

    assert decision_id == str(uuid5(ORDER_ID, "decision-1"))
    assert state(saga) is SagaState.WAITING_FOR_STOCK
    assert not saga.is_finished
    assert saga.due_at == NOW + saga.policy.waiting_recheck  # looked at again periodically
    assert saga.deadline_at == NOW + saga.policy.waiting_max
    assert saga.in_flight is None
    assert saga.unrouted == {"L1": 2, "L2": 1}
    assert events(saga, inv.ReserveStock) == []
    (decided,) = events(saga, orch.RoutingDecided)
    assert decided.outcome == "unroutable"
    assert decided.candidates[0].failed_filter == "stock"
    assert events(saga, orch.OrderOnHold) == []
    assert "out of stock everywhere" in (saga.hold_reason or "")
    assert saga.new_operations == []


def test_a_waiting_order_still_unroutable_decides_and_says_nothing_new() -> None:
    saga = started()
    saga.apply_routing(unroutable(), NOW)
    saga.events.clear()
    later = NOW + timedelta(minutes=5)

    assert saga.apply_routing(unroutable(), later) is None

    assert state(saga) is SagaState.WAITING_FOR_STOCK
    assert saga.round == 1
    assert saga.events == []
    assert saga.due_at == later + saga.policy.waiting_recheck
    assert saga.deadline_at == NOW + saga.policy.waiting_max  # the deadline stays


def test_a_waiting_order_that_can_be_served_now_is_routed() -> None:
    saga = started()
    saga.apply_routing(unroutable(), NOW)

    route(saga, whole_at(saga))

    assert state(saga) is SagaState.RESERVING
    assert saga.round == 2
    assert events(saga, inv.ReserveStock)


def test_an_order_that_waited_too_long_is_held_unroutable() -> None:
    saga = started()
    saga.apply_routing(unroutable(), NOW)
    deadline = saga.deadline_at
    assert deadline is not None

    saga.overdue(deadline)

    assert state(saga) is SagaState.ON_HOLD
    assert saga.hold is not None and saga.hold.reason is HoldReason.UNROUTABLE
    (hold,) = events(saga, orch.OrderOnHold)
    assert hold.reason_code == "unroutable"
    assert "no location could serve it in 72 h" in hold.reason
    assert "out of stock everywhere" in hold.reason
    assert hold.hold_id == str(uuid5(ORDER_ID, "hold-1-1"))


# --- the happy path -----------------------------------------------------------------------


def test_the_happy_path_from_placement_to_completion() -> None:
    saga = started()
    rid = route(saga, whole_at(saga))

    saga.reservation_confirmed(rid, reserved_lines(saga), NOW)

    (routed,) = events(saga, orch.OrderRouted)
    assert routed.reservation_id == rid
    assert routed.decision_id == str(uuid5(ORDER_ID, "decision-1"))
    assert [(ln.line_id, ln.quantity) for ln in routed.parts[0].lines] == [("L1", 2), ("L2", 1)]
    assert state(saga) is SagaState.AUTHORIZING
    (authorize,) = pending(saga)
    assert (authorize.kind, authorize.amount, authorize.currency) == (Kind.AUTHORIZE, TOTAL, "EUR")
    assert authorize.id == uuid5(ORDER_ID, "payment-1")
    assert saga.payment.status == "pending"
    assert saga.fulfillments == []

    answer(saga, Kind.AUTHORIZE)

    (authorized,) = events(saga, orch.PaymentAuthorized)
    assert authorized.amount == TOTAL
    assert saga.payment.status == "authorized"
    assert saga.payment.authorized == TOTAL
    assert state(saga) is SagaState.FULFILLING
    assert saga.held == []
    (f,) = saga.fulfillments
    assert (f.location_code, f.status, f.method) == ("WH-BER", Status.CREATED, "ship")
    assert [(ln.line_id, ln.quantity, ln.reservation_id) for ln in f.lines] == [
        ("L1", 2, rid),
        ("L2", 1, rid),
    ]
    (created,) = events(saga, orch.FulfillmentCreated)
    assert created.fulfillment_id == str(f.id)

    ship(saga, f)

    (commit,) = events(saga, inv.CommitReservation)
    assert commit.reservation_id == rid
    assert commit.shipment_id == str(uuid5(f.id, "shipment"))
    assert [(ln.sku, ln.quantity, ln.location_code) for ln in commit.lines or []] == [
        (LAMP, 2, "WH-BER"),
        (MUG, 1, "WH-BER"),
    ]
    (capture,) = pending(saga)
    assert (capture.kind, capture.amount) == (Kind.CAPTURE, TOTAL)
    assert capture.shipment_id == commit.shipment_id
    assert saga.shipped == {"L1": 2, "L2": 1}

    act(saga, f, Action.DELIVER)
    assert state(saga) is SagaState.FULFILLING  # the capture is not answered yet

    answer(saga, Kind.CAPTURE)

    assert state(saga) is SagaState.COMPLETED
    assert saga.is_finished
    assert saga.payment.captured == TOTAL
    assert amounts(saga, Kind.VOID) == []
    (completed,) = events(saga, orch.OrderCompleted)
    assert completed.completed_at == NOW
    (captured,) = events(saga, orch.PaymentCaptured)
    assert captured.shipment_id == commit.shipment_id


def test_created_fulfilments_wait_for_acceptance_under_a_deadline() -> None:
    saga = started()
    route(saga, part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))
    confirm(saga)

    answer(saga, Kind.AUTHORIZE)

    # Unaccepted fulfilment orders are what this deadline watches (the saga shows as stuck
    # once it passes; the accept handler clears it).
    assert state(saga) is SagaState.FULFILLING
    assert saga.deadline_at == NOW + timedelta(hours=24)


def test_accepting_one_of_two_fulfilments_keeps_the_deadline_for_the_other() -> None:
    saga = started()
    route(saga, part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))
    confirm(saga)
    answer(saga, Kind.AUTHORIZE)

    act(saga, at(saga, "WH-BER"), Action.ACCEPT)
    assert saga.deadline_at == NOW + timedelta(hours=24)
    act(saga, at(saga, "WH-HAM"), Action.ACCEPT)
    assert saga.deadline_at is None


# --- waits that ran too long --------------------------------------------------------------

LATER = NOW + timedelta(minutes=5)


def test_a_reservation_unanswered_past_its_deadline_is_released_and_planned_again() -> None:
    saga = started()
    rid = route(saga, whole_at(saga))
    saga.events.clear()

    saga.overdue(LATER)

    # Released (inventory may still act on the reserve command; the release comes after it)
    # and back to routing at once, as after a rejection.
    assert releases(saga) == [(rid, "released", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-BER")])]
    assert state(saga) is SagaState.ROUTING
    assert saga.due_at == LATER
    assert saga.deadline_at is None
    assert saga.in_flight is None
    assert saga.unrouted == {"L1": 2, "L2": 1}
    assert [s.name for s in saga.new_steps][-3:] == [
        "reservation_timed_out",
        "reservation_rejected",
        "routing",
    ]


def test_a_late_confirmation_after_the_timeout_changes_nothing() -> None:
    saga = started()
    rid = route(saga, whole_at(saga))
    lines = reserved_lines(saga)
    saga.overdue(LATER)
    before = copy.deepcopy(saga)

    saga.reservation_confirmed(rid, lines, LATER)

    assert saga == before


def test_a_reservation_before_its_deadline_is_left_waiting() -> None:
    saga = started()
    route(saga, whole_at(saga))
    before = copy.deepcopy(saga)

    saga.overdue(LATER - timedelta(seconds=1))

    assert saga == before


def test_the_reservation_timeout_comes_from_the_policy() -> None:
    saga = started()
    saga.policy = SagaPolicy(reservation_timeout=timedelta(seconds=30))

    route(saga, whole_at(saga))

    assert saga.deadline_at == NOW + timedelta(seconds=30)


def test_reservations_that_keep_timing_out_make_the_order_wait_for_stock() -> None:
    saga = started()
    for _ in range(4):
        route(saga, whole_at(saga))
        saga.overdue(LATER)

    assert state(saga) is SagaState.WAITING_FOR_STOCK
    assert "inventory did not answer in time" in (saga.hold_reason or "")


def test_a_fulfilment_not_accepted_in_time_is_rejected_and_its_units_routed_elsewhere() -> None:
    saga = fulfilling()
    saga.events.clear()
    f = at(saga, "WH-BER")
    day_later = NOW + timedelta(hours=24)

    saga.overdue(day_later)

    assert f.status is Status.REJECTED
    (rejected,) = events(saga, orch.FulfillmentRejected)
    assert rejected.reason == "not accepted in time"
    assert [(ln.line_id, ln.quantity) for ln in rejected.lines] == [("L1", 2), ("L2", 1)]
    rid = f.lines[0].reservation_id
    assert releases(saga) == [(rid, "released", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-BER")])]
    assert saga.excluded == ["WH-BER"]
    assert state(saga) is SagaState.ROUTING
    assert saga.unrouted == {"L1": 2, "L2": 1}


def test_only_the_fulfilments_past_their_deadline_are_rejected() -> None:
    saga = fulfilling(
        part("WH-BER", Allocation("L1", LAMP, 2, False)),
        part("WH-HAM", Allocation("L2", MUG, 1, False)),
    )
    act(saga, at(saga, "WH-HAM"), Action.ACCEPT)

    saga.overdue(NOW + timedelta(hours=25))

    assert at(saga, "WH-BER").status is Status.REJECTED
    assert at(saga, "WH-HAM").status is Status.ACCEPTED
    assert saga.excluded == ["WH-BER"]


def test_an_overdue_sweep_finding_nothing_late_clears_the_deadline() -> None:
    saga = fulfilling()
    f = at(saga, "WH-BER")
    f.move(Action.ACCEPT, NOW)  # accepted, but the deadline was not updated (an old row)

    saga.overdue(NOW + timedelta(hours=24))

    assert f.status is Status.ACCEPTED
    assert saga.deadline_at is None
    assert events(saga, orch.FulfillmentRejected) == []


def test_a_finished_saga_is_never_swept() -> None:
    saga = started()
    saga.cancel(None, NOW)
    before = copy.deepcopy(saga)

    saga.overdue(NOW + timedelta(days=2))

    assert saga == before


def test_a_capture_answered_before_delivery_completes_the_order_at_delivery() -> None:
    saga = fulfilling()
    (f,) = saga.fulfillments
    ship(saga, f)
    answer(saga, Kind.CAPTURE)
    assert state(saga) is SagaState.FULFILLING

    act(saga, f, Action.DELIVER)

    assert state(saga) is SagaState.COMPLETED
    assert len(events(saga, orch.OrderCompleted)) == 1


def test_completion_checked_again_changes_nothing() -> None:
    saga = fulfilling()
    (f,) = saga.fulfillments
    ship(saga, f)
    act(saga, f, Action.DELIVER)
    answer(saga, Kind.CAPTURE)
    before = copy.deepcopy(saga)

    saga.check_completion(NOW)
    act(saga, f, Action.DELIVER)  # the carrier's report again

    assert saga == before
    assert len(events(saga, orch.OrderCompleted)) == 1


def test_the_location_distance_from_the_plan_reaches_the_fulfilment() -> None:
    saga = started()
    saga.apply_routing(decision(whole_at(saga, "WH-MUC")), NOW, geo={"WH-MUC": (504.3, False)})
    confirm(saga)
    answer(saga, Kind.AUTHORIZE)

    (f,) = saga.fulfillments
    assert (f.distance_km, f.domestic) == (504.3, False)


def test_a_pickup_order_is_captured_at_collection_and_then_completes() -> None:
    saga = fulfilling(order=make_order(shipping=Decimal("0"), method=Method.PICKUP))
    (f,) = saga.fulfillments
    assert f.method == "pickup"

    for action in (Action.ACCEPT, Action.PICK, Action.READY_FOR_PICKUP, Action.COLLECT):
        act(saga, f, action)

    assert f.status is Status.COLLECTED
    assert len(events(saga, inv.CommitReservation)) == 1
    assert amounts(saga, Kind.CAPTURE) == [Decimal("55.00")]
    answer(saga, Kind.CAPTURE)
    assert state(saga) is SagaState.COMPLETED


# --- split orders ---------------------------------------------------------------------------


def test_a_split_order_gets_one_fulfilment_per_location_and_two_captures_making_the_total() -> None:
    saga = started()
    saga_parts = (part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))
    route(saga, *saga_parts)
    confirm(saga)
    answer(saga, Kind.AUTHORIZE)

    assert [f.location_code for f in saga.fulfillments] == ["WH-BER", "WH-HAM"]
    assert len(events(saga, orch.FulfillmentCreated)) == 2
    assert len({f.id for f in saga.fulfillments}) == 2

    ship(saga, at(saga, "WH-HAM"))  # the mug leaves first: its value and the shipping
    assert amounts(saga, Kind.CAPTURE) == [Decimal("19.95")]
    ship(saga, at(saga, "WH-BER"))  # the last parcel: exactly the rest
    assert amounts(saga, Kind.CAPTURE) == [Decimal("19.95"), Decimal("40.00")]

    commits = events(saga, inv.CommitReservation)
    assert [[ln.location_code for ln in c.lines or []] for c in commits] == [
        ["WH-HAM"],
        ["WH-BER"],
    ]
    for f in saga.fulfillments:
        act(saga, f, Action.DELIVER)
    answer(saga, Kind.CAPTURE)
    assert state(saga) is SagaState.FULFILLING  # one capture still out
    answer(saga, Kind.CAPTURE)

    assert state(saga) is SagaState.COMPLETED
    assert saga.payment.captured == TOTAL
    assert sum(amounts(saga, Kind.CAPTURE)) == TOTAL
    assert amounts(saga, Kind.VOID) == []


def test_the_last_capture_takes_the_rounding_rest_so_the_total_is_exact() -> None:
    order = make_order((OrderLine("L1", LAMP, 3, Decimal("10.00")),), shipping=Decimal("0"))
    saga = started(order)
    saga = fulfilling(
        part("WH-A", alloc(saga, "L1", 1)),
        part("WH-B", alloc(saga, "L1", 1)),
        part("WH-C", alloc(saga, "L1", 1)),
        order=order,
    )

    for code in ("WH-A", "WH-B", "WH-C"):
        ship(saga, at(saga, code))

    assert amounts(saga, Kind.CAPTURE) == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")]
    assert sum(amounts(saga, Kind.CAPTURE)) == Decimal("10.00")


# --- inventory's answers --------------------------------------------------------------------


def test_a_confirmation_of_another_reservation_changes_nothing() -> None:
    saga = started()
    route(saga, whole_at(saga))
    before = copy.deepcopy(saga)

    saga.reservation_confirmed("someone-elses", reserved_lines(saga), NOW)
    saga.reservation_rejected("someone-elses", "no stock", NOW)

    assert saga == before


def test_a_second_confirmation_changes_nothing() -> None:
    saga = started()
    rid = route(saga, whole_at(saga))
    lines = reserved_lines(saga)
    saga.reservation_confirmed(rid, lines, NOW)
    before = copy.deepcopy(saga)

    saga.reservation_confirmed(rid, lines, NOW)
    saga.reservation_rejected(rid, "late rejection", NOW)

    assert saga == before
    assert len(pending(saga, Kind.AUTHORIZE)) == 1


def test_an_answer_to_an_earlier_round_changes_nothing() -> None:
    saga = started()
    first = route(saga, whole_at(saga))
    lines = reserved_lines(saga)
    reject_reservation(saga)
    second = route(saga, whole_at(saga, "WH-HAM"))
    assert second != first
    before = copy.deepcopy(saga)

    saga.reservation_confirmed(first, lines, NOW)

    assert saga == before


def test_a_rejected_reservation_sends_the_units_back_to_routing() -> None:
    saga = started()
    route(saga, whole_at(saga))

    reject_reservation(saga)

    assert state(saga) is SagaState.ROUTING
    assert saga.due_at == NOW
    assert saga.in_flight is None
    assert saga.unrouted == {"L1": 2, "L2": 1}
    assert saga.replans == 1
    assert releases(saga) == []  # nothing was held
    assert saga.new_operations == []
    route(saga, whole_at(saga, "WH-HAM"))
    assert saga.round == 2


def test_after_max_replans_rejections_the_order_waits_for_stock() -> None:
    saga = started()
    saga.policy = SagaPolicy(max_replans=2)
    for _ in range(2):
        route(saga, whole_at(saga))
        reject_reservation(saga)
        assert state(saga) is SagaState.ROUTING

    route(saga, whole_at(saga))
    reject_reservation(saga)

    assert state(saga) is SagaState.WAITING_FOR_STOCK
    assert "after 3 plans" in (saga.hold_reason or "")
    assert saga.replans == 0  # planned again from the waiting room with fresh plans
    assert saga.unrouted == {"L1": 2, "L2": 1}
    assert saga.new_operations == []


def test_a_confirmation_resets_the_count_of_rejections() -> None:
    saga = started()
    route(saga, whole_at(saga))
    reject_reservation(saga)
    route(saga, whole_at(saga, "WH-HAM"))

    confirm(saga)

    assert saga.replans == 0


def test_a_confirmation_without_line_ids_is_matched_by_sku() -> None:
    saga = started()
    rid = route(saga, whole_at(saga))
    lines = [replace(ln, line_id=None) for ln in reserved_lines(saga)]

    saga.reservation_confirmed(rid, lines, NOW)

    assert [(h.line_id, h.sku) for h in saga.held] == [("L1", LAMP), ("L2", MUG)]


# --- payment declined ---------------------------------------------------------------------


def declined(policy: DeclinePolicy) -> tuple[OrderSaga, str]:
    saga = started()
    rid = route(saga, part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))
    saga.policy = SagaPolicy(on_decline=policy)
    confirm(saga)
    answer(saga, Kind.AUTHORIZE, approved=False)
    return saga, rid


def test_a_declined_payment_releases_the_held_units_and_puts_the_order_on_hold() -> None:
    saga, rid = declined(DeclinePolicy.ON_HOLD)

    assert releases(saga) == [(rid, "released", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-HAM")])]
    assert saga.held == []
    assert saga.fulfillments == []
    assert state(saga) is SagaState.ON_HOLD
    (hold,) = events(saga, orch.OrderOnHold)
    assert "payment declined" in hold.reason
    (refusal,) = events(saga, orch.PaymentDeclined)
    assert (refusal.code, refusal.resolution, refusal.amount) == ("declined", "on_hold", TOTAL)
    assert saga.payment.status == "declined"
    assert pending(saga) == []


def test_a_declined_payment_with_the_cancel_policy_cancels_the_order() -> None:
    saga, rid = declined(DeclinePolicy.CANCEL)

    assert releases(saga) == [(rid, "released", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-HAM")])]
    assert state(saga) is SagaState.CANCELLED
    assert events(saga, orch.OrderOnHold) == []
    (refusal,) = events(saga, orch.PaymentDeclined)
    assert refusal.resolution == "cancel"
    assert pending(saga) == []


# --- cancellations ----------------------------------------------------------------------------


def test_a_cancellation_while_routing_cancels_the_order_at_once() -> None:
    saga = started()

    saga.cancel(None, NOW)

    assert state(saga) is SagaState.CANCELLED
    assert saga.cancelled == {"L1": 2, "L2": 1}
    assert saga.unrouted == {"L1": 0, "L2": 0}
    assert releases(saga) == []
    assert saga.new_operations == []
    assert saga.apply_routing(decision(part("WH-BER", alloc(saga, "L1", 2))), NOW) is None


def test_a_partial_cancellation_while_routing_routes_the_rest() -> None:
    saga = started()

    saga.cancel({"L2": 1}, NOW)

    assert state(saga) is SagaState.ROUTING
    assert saga.unrouted == {"L1": 2, "L2": 0}
    assert saga.cancelled == {"L2": 1}
    rid = route(saga, whole_at(saga))
    (reserve,) = events(saga, inv.ReserveStock)
    assert reserve.reservation_id == rid
    assert [(ln.line_id, ln.quantity) for ln in reserve.lines] == [("L1", 2)]


def test_a_cancellation_while_reserving_releases_exactly_the_cancelled_units_on_confirmation() -> (
    None
):
    saga = started()
    rid = route(saga, part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))

    saga.cancel({"L1": 1}, NOW)

    assert state(saga) is SagaState.RESERVING
    assert releases(saga) == []  # nothing is held yet
    assert saga.cancel_pending == {"L1": 1}

    confirm(saga)

    assert releases(saga) == [(rid, "cancelled", [(LAMP, 1, "WH-BER")])]
    assert saga.cancel_pending == {}
    assert [(h.line_id, h.quantity, h.location_code) for h in saga.held] == [
        ("L1", 1, "WH-BER"),
        ("L2", 1, "WH-HAM"),
    ]


def test_a_cancellation_while_reserving_counts_the_units_as_cancelled() -> None:
    saga = started()
    route(saga, whole_at(saga))

    saga.cancel({"L2": 1}, NOW)
    confirm(saga)

    assert saga.cancelled == {"L2": 1}


def test_after_a_cancellation_while_reserving_the_last_capture_still_takes_the_rest() -> None:
    order = make_order(
        (OrderLine("L1", LAMP, 3, Decimal("10.00")), OrderLine("L2", MUG, 1, Decimal("5.00"))),
        shipping=Decimal("0"),
    )
    saga = started(order)
    route(
        saga,
        part("WH-A", alloc(saga, "L1", 1), alloc(saga, "L2", 1)),
        part("WH-B", alloc(saga, "L1", 1)),
        part("WH-C", alloc(saga, "L1", 1)),
    )
    saga.cancel({"L2": 1}, NOW)
    confirm(saga)
    answer(saga, Kind.AUTHORIZE)

    for code in ("WH-A", "WH-B", "WH-C"):
        ship(saga, at(saga, code))

    # The three lamps are what is owed: 10.00, not 3 x 3.33 with a cent voided.
    assert sum(amounts(saga, Kind.CAPTURE)) == Decimal("10.00")


def test_a_cancellation_of_everything_while_reserving_ends_cancelled_without_authorising() -> None:
    saga = started()
    rid = route(saga, whole_at(saga))
    saga.cancel(None, NOW)

    confirm(saga)

    assert releases(saga) == [(rid, "cancelled", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-BER")])]
    assert saga.held == []
    assert amounts(saga, Kind.AUTHORIZE) == []  # nothing is left to pay for
    assert state(saga) is SagaState.CANCELLED
    assert saga.cancelled == {"L1": 2, "L2": 1}


def test_a_cancellation_of_everything_while_reserving_then_a_rejection_ends_cancelled() -> None:
    saga = started()
    route(saga, whole_at(saga))
    saga.cancel(None, NOW)

    reject_reservation(saga)

    assert saga.unrouted == {"L1": 0, "L2": 0}
    assert amounts(saga, Kind.AUTHORIZE) == []  # nothing is left to pay for
    assert state(saga) is SagaState.CANCELLED
    assert saga.cancelled == {"L1": 2, "L2": 1}


def test_a_cancellation_while_authorising_releases_now_and_voids_once_authorised() -> None:
    saga = started()
    rid = route(saga, whole_at(saga))
    confirm(saga)

    saga.cancel(None, NOW)

    assert releases(saga) == [(rid, "cancelled", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-BER")])]
    assert saga.held == []
    assert saga.cancelled == {"L1": 2, "L2": 1}
    assert state(saga) is SagaState.AUTHORIZING  # the authorisation's answer moves it on

    answer(saga, Kind.AUTHORIZE)

    assert saga.fulfillments == []
    assert amounts(saga, Kind.VOID) == [TOTAL]
    assert not saga.is_finished

    answer(saga, Kind.VOID)

    assert state(saga) is SagaState.CANCELLED
    (voided,) = events(saga, orch.PaymentVoided)
    assert voided.amount == TOTAL
    assert events(saga, orch.OrderCompleted) == []


def test_a_payment_declined_after_everything_was_cancelled_leaves_the_order_cancelled() -> None:
    saga = started()
    route(saga, whole_at(saga))
    confirm(saga)
    saga.cancel(None, NOW)

    answer(saga, Kind.AUTHORIZE, approved=False)

    # Nothing is left to hold: every unit was cancelled and its stock already released.
    assert state(saga) is SagaState.CANCELLED
    assert events(saga, orch.OrderOnHold) == []
    assert len(releases(saga)) == 1


def test_a_cancellation_withdraws_the_unshipped_fulfilment_and_voids_the_money() -> None:
    saga = fulfilling()
    (f,) = saga.fulfillments
    rid = f.lines[0].reservation_id
    act(saga, f, Action.ACCEPT)

    saga.cancel(None, NOW)

    assert f.status is Status.CANCELLED
    (withdrawn,) = events(saga, orch.FulfillmentCancelled)
    assert (withdrawn.fulfillment_id, withdrawn.location_code) == (str(f.id), "WH-BER")
    assert [(ln.line_id, ln.quantity) for ln in withdrawn.lines] == [("L1", 2), ("L2", 1)]
    assert releases(saga) == [(rid, "cancelled", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-BER")])]
    assert saga.cancelled == {"L1": 2, "L2": 1}
    assert amounts(saga, Kind.VOID) == [TOTAL]
    assert state(saga) is SagaState.FULFILLING  # until the void is answered

    answer(saga, Kind.VOID)

    assert state(saga) is SagaState.CANCELLED
    assert saga.payment.voided == TOTAL
    assert events(saga, orch.OrderCompleted) == []


def test_a_cancellation_repeated_changes_nothing() -> None:
    saga = fulfilling()
    saga.cancel(None, NOW)
    before = without_log(saga)

    saga.cancel(None, NOW)  # while the void is out

    assert without_log(saga) == before
    assert amounts(saga, Kind.VOID) == [TOTAL]
    answer(saga, Kind.VOID)
    done = copy.deepcopy(saga)

    saga.cancel(None, NOW)  # after the end

    assert without_log(saga) == without_log(done)
    assert state(saga) is SagaState.CANCELLED


def test_a_cancellation_after_one_part_shipped_stops_the_other_and_completes() -> None:
    saga = started()
    saga = fulfilling(part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))
    ham, ber = at(saga, "WH-HAM"), at(saga, "WH-BER")
    ship(saga, ham)
    answer(saga, Kind.CAPTURE)

    saga.cancel(None, NOW)

    assert ham.status is Status.SHIPPED  # out of the building: not stoppable
    assert ber.status is Status.CANCELLED
    assert saga.cancelled == {"L1": 2}
    (withdrawn,) = events(saga, orch.FulfillmentCancelled)
    assert withdrawn.location_code == "WH-BER"
    assert [r[2] for r in releases(saga)] == [[(LAMP, 2, "WH-BER")]]

    act(saga, ham, Action.DELIVER)
    assert amounts(saga, Kind.VOID) == [Decimal("40.00")]
    answer(saga, Kind.VOID)

    assert state(saga) is SagaState.COMPLETED
    assert saga.payment.captured + saga.payment.voided == TOTAL


def test_a_partial_cancellation_of_a_packed_fulfilment_captures_only_what_is_kept() -> None:
    saga = fulfilling()
    (f,) = saga.fulfillments
    for action in (Action.ACCEPT, Action.PICK, Action.PACK):
        act(saga, f, action)

    saga.cancel({"L1": 1}, NOW)

    assert f.status is Status.PACKED
    assert [(ln.line_id, ln.quantity) for ln in f.lines] == [("L1", 1), ("L2", 1)]
    assert [r[2] for r in releases(saga)] == [[(LAMP, 1, "WH-BER")]]

    act(saga, f, Action.SHIP)

    assert amounts(saga, Kind.CAPTURE) == [Decimal("39.95")]  # 20.00 + 15.00 + 4.95
    act(saga, f, Action.DELIVER)
    answer(saga, Kind.CAPTURE)
    assert amounts(saga, Kind.VOID) == [Decimal("20.00")]
    answer(saga, Kind.VOID)
    assert state(saga) is SagaState.COMPLETED


# --- fulfilment reports -------------------------------------------------------------------------


def test_a_rejection_releases_the_units_there_excludes_the_location_and_routes_again() -> None:
    saga = started()
    saga = fulfilling(part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))
    ber = at(saga, "WH-BER")
    rid = ber.lines[0].reservation_id
    saga.events.clear()

    act(saga, ber, Action.REJECT, reason="no staff")

    assert ber.status is Status.REJECTED
    assert releases(saga) == [(rid, "released", [(LAMP, 2, "WH-BER")])]
    assert saga.excluded == ["WH-BER"]
    assert saga.unrouted == {"L1": 2, "L2": 0}
    assert state(saga) is SagaState.ROUTING
    assert saga.due_at == NOW
    assert at(saga, "WH-HAM").status is Status.CREATED

    # Re-routed elsewhere: no second authorisation, a new fulfilment, and the order finishes.
    route(saga, whole_at(saga, "WH-MUC"))
    confirm(saga)
    assert amounts(saga, Kind.AUTHORIZE) == [TOTAL]
    assert state(saga) is SagaState.FULFILLING
    muc = at(saga, "WH-MUC")
    assert muc.id not in {ber.id, at(saga, "WH-HAM").id}
    for f in (at(saga, "WH-HAM"), muc):
        ship(saga, f)
        act(saga, f, Action.DELIVER)
    assert sum(amounts(saga, Kind.CAPTURE)) == TOTAL
    answer(saga, Kind.CAPTURE)
    answer(saga, Kind.CAPTURE)
    assert state(saga) is SagaState.COMPLETED


def test_a_rejection_reported_twice_releases_once() -> None:
    saga = fulfilling()
    (f,) = saga.fulfillments
    act(saga, f, Action.REJECT)
    before = without_log(saga)

    act(saga, f, Action.REJECT)

    assert without_log(saga) == before
    assert len(releases(saga)) == 1
    assert saga.excluded == ["WH-BER"]


def test_a_short_pick_reroutes_only_the_missing_units() -> None:
    saga = fulfilling()
    (f,) = saga.fulfillments
    rid = f.lines[0].reservation_id
    act(saga, f, Action.ACCEPT)

    act(saga, f, Action.PICK, picked={"L1": 1, "L2": 1})

    assert f.status is Status.PICKED
    assert [(ln.line_id, ln.quantity) for ln in f.lines] == [("L1", 1), ("L2", 1)]
    assert releases(saga) == [(rid, "released", [(LAMP, 1, "WH-BER")])]
    assert saga.unrouted == {"L1": 1, "L2": 0}
    assert saga.excluded == ["WH-BER"]
    assert state(saga) is SagaState.ROUTING

    route(saga, whole_at(saga, "WH-HAM"))
    (reserve,) = events(saga, inv.ReserveStock)[-1:]
    assert [(ln.line_id, ln.quantity, ln.location_code) for ln in reserve.lines] == [
        ("L1", 1, "WH-HAM")
    ]
    confirm(saga)
    act(saga, f, Action.PACK)
    act(saga, f, Action.SHIP)
    assert amounts(saga, Kind.CAPTURE) == [Decimal("39.95")]  # 20.00 + 15.00 + 4.95
    ship(saga, at(saga, "WH-HAM"))
    assert amounts(saga, Kind.CAPTURE) == [Decimal("39.95"), Decimal("20.00")]


def test_nothing_picked_cancels_the_fulfilment_and_reroutes_everything() -> None:
    saga = fulfilling()
    (f,) = saga.fulfillments
    act(saga, f, Action.ACCEPT)

    act(saga, f, Action.PICK, picked={"L1": 0, "L2": 0})

    assert f.status is Status.CANCELLED
    assert saga.unrouted == {"L1": 2, "L2": 1}
    assert state(saga) is SagaState.ROUTING


# --- address changes ----------------------------------------------------------------------------


def test_a_replan_withdraws_created_and_accepted_fulfilments_but_not_picked_ones() -> None:
    saga = started()
    saga = fulfilling(
        part("WH-A", alloc(saga, "L1", 1)),
        part("WH-B", alloc(saga, "L1", 1)),
        part("WH-C", alloc(saga, "L2", 1)),
    )
    a, b, c = at(saga, "WH-A"), at(saga, "WH-B"), at(saga, "WH-C")
    act(saga, b, Action.ACCEPT)
    act(saga, c, Action.ACCEPT)
    act(saga, c, Action.PICK)
    munich = ShipTo("DE", 48.14, 11.58, "Ada", "Marienplatz 1", "Munich", "80331")

    saga.replan(munich, Method.SHIP, "express", None, NOW)

    assert (a.status, b.status, c.status) == (Status.CANCELLED, Status.CANCELLED, Status.PICKED)
    withdrawn = events(saga, orch.FulfillmentCancelled)
    assert [e.location_code for e in withdrawn] == ["WH-A", "WH-B"]
    assert {e.reason for e in withdrawn} == {"re-planned after an address change"}
    assert [r[2] for r in releases(saga)] == [[(LAMP, 1, "WH-A")], [(LAMP, 1, "WH-B")]]
    assert saga.unrouted == {"L1": 2, "L2": 0}
    assert saga.excluded == []  # nothing wrong with those locations
    assert state(saga) is SagaState.ROUTING
    assert saga.order.ship_to == munich
    assert saga.order.service_level == "express"


def test_a_replan_while_reserving_releases_the_reservation_when_it_is_confirmed() -> None:
    saga = started()
    rid = route(saga, whole_at(saga))
    saga.replan(ShipTo("AT", city="Vienna"), Method.SHIP, "standard", None, NOW)
    assert saga.replan_pending

    confirm(saga)

    assert releases(saga) == [(rid, "released", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-BER")])]
    assert saga.held == []
    assert saga.unrouted == {"L1": 2, "L2": 1}
    assert saga.fulfillments == []
    assert not saga.replan_pending


def test_a_replan_of_a_held_order_only_keeps_the_new_address() -> None:
    saga = started()
    saga.apply_routing(unroutable(), NOW)
    saga.overdue(NOW + saga.policy.waiting_max)  # held unroutable
    saga.events.clear()

    saga.replan(ShipTo("AT", city="Vienna"), Method.SHIP, "standard", None, NOW)

    assert saga.order.ship_to.city == "Vienna"
    assert state(saga) is SagaState.ON_HOLD
    assert saga.events == []


# --- refunds ------------------------------------------------------------------------------------


def completed() -> OrderSaga:
    saga = fulfilling()
    (f,) = saga.fulfillments
    ship(saga, f)
    act(saga, f, Action.DELIVER)
    answer(saga, Kind.CAPTURE)
    assert state(saga) is SagaState.COMPLETED
    return saga


def test_a_refund_of_more_than_was_captured_is_refused() -> None:
    saga = completed()

    saga.request_refund("rf-1", Decimal("60.00"), [("L1", 2)], NOW)

    assert pending(saga, Kind.REFUND) == []
    (failed,) = events(saga, orch.PaymentRefundFailed)
    assert (failed.refund_id, failed.amount) == ("rf-1", Decimal("60.00"))
    assert "59.95" in failed.reason


def test_a_refund_before_any_capture_is_refused() -> None:
    saga = fulfilling()

    saga.request_refund("rf-1", Decimal("1.00"), [("L2", 1)], NOW)

    assert pending(saga, Kind.REFUND) == []
    assert len(events(saga, orch.PaymentRefundFailed)) == 1


def test_a_refund_is_queued_once_whatever_the_repeats_and_paid_on_approval() -> None:
    saga = completed()

    saga.request_refund("rf-1", Decimal("20.00"), [("L1", 1)], NOW)
    saga.request_refund("rf-1", Decimal("20.00"), [("L1", 1)], NOW)

    (refund,) = pending(saga, Kind.REFUND)
    assert (refund.amount, refund.refund_id, refund.lines) == (
        Decimal("20.00"),
        "rf-1",
        (("L1", 1),),
    )
    assert events(saga, orch.PaymentRefundFailed) == []

    answer(saga, Kind.REFUND)

    (refunded,) = events(saga, orch.PaymentRefunded)
    assert (refunded.refund_id, refunded.amount) == ("rf-1", Decimal("20.00"))
    assert [(ln.line_id, ln.quantity) for ln in refunded.lines] == [("L1", 1)]
    assert saga.payment.refunded == Decimal("20.00")
    assert state(saga) is SagaState.COMPLETED


def test_refunds_queued_count_against_what_is_left_to_refund() -> None:
    saga = completed()
    saga.request_refund("rf-1", Decimal("20.00"), [("L1", 1)], NOW)

    saga.request_refund("rf-2", Decimal("40.00"), [("L1", 1), ("L2", 1)], NOW)

    assert [op.refund_id for op in pending(saga, Kind.REFUND)] == ["rf-1"]
    (failed,) = events(saga, orch.PaymentRefundFailed)
    assert failed.refund_id == "rf-2"
    saga.request_refund("rf-3", Decimal("39.95"), [("L1", 1), ("L2", 1)], NOW)
    assert [op.refund_id for op in pending(saga, Kind.REFUND)] == ["rf-1", "rf-3"]


def test_a_refused_refund_frees_its_amount_for_another_request() -> None:
    saga = completed()
    saga.request_refund("rf-1", TOTAL, [("L1", 2), ("L2", 1)], NOW)

    answer(saga, Kind.REFUND, approved=False)

    (failed,) = events(saga, orch.PaymentRefundFailed)
    assert failed.refund_id == "rf-1"
    assert saga.payment.refund_queued == Decimal("0")
    saga.request_refund("rf-2", TOTAL, [("L1", 2), ("L2", 1)], NOW)
    assert [op.refund_id for op in pending(saga, Kind.REFUND)] == ["rf-2"]


# --- backorders ---------------------------------------------------------------------------------


def backordered() -> tuple[OrderSaga, str]:
    saga = started()
    rid = route(
        saga,
        part("WH-BER", alloc(saga, "L1", 2, backorder=True), alloc(saga, "L2", 1)),
        outcome=Outcome.BACKORDERED,
    )
    confirm(saga, backordered={"L1": 2})
    return saga, rid


def test_a_backordered_plan_asks_inventory_to_allow_backorders() -> None:
    saga = started()

    route(
        saga,
        part("WH-BER", alloc(saga, "L1", 2, backorder=True), alloc(saga, "L2", 1)),
        outcome=Outcome.BACKORDERED,
    )

    (reserve,) = events(saga, inv.ReserveStock)
    assert reserve.allow_backorder is True
    (decided,) = events(saga, orch.RoutingDecided)
    assert (decided.outcome, decided.parts[0].backordered) == ("backordered", 2)


def test_a_confirmation_with_backordered_units_waits_for_the_stock() -> None:
    saga, rid = backordered()

    assert state(saga) is SagaState.BACKORDERED
    (waiting,) = events(saga, orch.OrderBackordered)
    assert waiting.reservation_id == rid
    assert [(ln.line_id, ln.sku, ln.quantity) for ln in waiting.lines] == [("L1", LAMP, 2)]
    (routed,) = events(saga, orch.OrderRouted)
    assert routed.parts[0].backordered == 2
    assert saga.new_operations == []
    assert saga.fulfillments == []


def test_the_order_moves_on_to_authorising_once_every_backordered_unit_arrived() -> None:
    saga, rid = backordered()

    saga.backorder_allocated(
        rid, [commands.StockLine(sku=LAMP, location_code="WH-BER", quantity=1)], NOW
    )
    assert state(saga) is SagaState.BACKORDERED
    assert saga.new_operations == []

    saga.backorder_allocated(
        rid, [commands.StockLine(sku=LAMP, location_code="WH-BER", quantity=1)], NOW
    )

    assert state(saga) is SagaState.AUTHORIZING
    assert amounts(saga, Kind.AUTHORIZE) == [TOTAL]
    answer(saga, Kind.AUTHORIZE)
    (f,) = saga.fulfillments
    assert [(ln.line_id, ln.quantity) for ln in f.lines] == [("L1", 2), ("L2", 1)]


def test_a_backorder_allocation_repeated_or_for_another_reservation_changes_nothing() -> None:
    saga, rid = backordered()
    lamps = [commands.StockLine(sku=LAMP, location_code="WH-BER", quantity=2)]
    before = without_log(saga)

    saga.backorder_allocated("someone-elses", lamps, NOW)
    saga.backorder_allocated(
        rid, [commands.StockLine(sku=LAMP, location_code="WH-HAM", quantity=2)], NOW
    )

    assert without_log(saga) == before
    saga.backorder_allocated(rid, lamps, NOW)
    assert state(saga) is SagaState.AUTHORIZING
    after = without_log(saga)

    saga.backorder_allocated(rid, lamps, NOW)

    assert without_log(saga) == after
    assert len(amounts(saga, Kind.AUTHORIZE)) == 1


def test_a_cancellation_while_backordered_releases_and_cancels() -> None:
    saga, rid = backordered()

    saga.cancel(None, NOW)

    assert releases(saga) == [(rid, "cancelled", [(LAMP, 2, "WH-BER"), (MUG, 1, "WH-BER")])]
    assert state(saga) is SagaState.CANCELLED
    assert saga.new_operations == []


# --- every event is keyed by the order ------------------------------------------------------------


def _lifecycle() -> OrderSaga:
    saga = started()
    route(saga, part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))
    confirm(saga)
    answer(saga, Kind.AUTHORIZE)
    act(saga, at(saga, "WH-HAM"), Action.REJECT)
    route(saga, whole_at(saga, "WH-MUC"))
    confirm(saga)
    for f in (at(saga, "WH-BER"), at(saga, "WH-MUC")):
        ship(saga, f)
        act(saga, f, Action.DELIVER)
    answer(saga, Kind.CAPTURE)
    answer(saga, Kind.CAPTURE)
    saga.request_refund("rf-1", Decimal("5.00"), [("L2", 1)], NOW)
    saga.request_refund("rf-2", Decimal("500.00"), [("L2", 1)], NOW)
    answer(saga, Kind.REFUND)
    return saga


def _compensated() -> OrderSaga:
    saga = started()
    route(saga, whole_at(saga))
    reject_reservation(saga)
    route(saga, whole_at(saga, "WH-HAM"))
    saga.cancel({"L2": 1}, NOW)
    confirm(saga)
    answer(saga, Kind.AUTHORIZE)
    saga.replan(ShipTo("DE", city="Hamburg"), Method.SHIP, "standard", None, NOW)
    route(saga, whole_at(saga))
    confirm(saga)
    saga.cancel(None, NOW)
    answer(saga, Kind.VOID)
    return saga


def _held() -> OrderSaga:
    saga, _ = backordered()
    saga.backorder_allocated(
        saga.held[0].reservation_id,
        [commands.StockLine(sku=LAMP, location_code="WH-BER", quantity=2)],
        NOW,
    )
    answer(saga, Kind.AUTHORIZE, approved=False)
    saga.apply_routing(unroutable(), NOW)  # finished: ignored
    return saga


@pytest.mark.parametrize("scenario", [_lifecycle, _compensated, _held])
def test_every_event_and_command_is_keyed_by_the_order(scenario: Callable[[], OrderSaga]) -> None:
    saga = scenario()

    assert saga.is_finished
    assert len(saga.events) > 5
    assert {e.partition_key for e in published(saga)} == {KEY}
    assert all(op.order_id == ORDER_ID for op in saga.new_operations)
    assert all(f.order_id == ORDER_ID for f in saga.fulfillments)
