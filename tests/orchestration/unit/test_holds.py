"""Holds are a state with a way out: held by a person or by the saga, released by a person,
and planned again from where the order stands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from libs.contracts import inventory as inv
from libs.contracts import orchestration as orch
from services.orchestration.domain.errors import HoldNotPossible, NotOnHold, PaymentNotNeeded
from services.orchestration.domain.payments import Kind
from services.orchestration.domain.saga import DeclinePolicy, HoldReason, SagaState
from tests.orchestration.unit.test_saga import (
    NOW,
    alloc,
    answer,
    confirm,
    declined,
    events,
    fulfilling,
    part,
    pending,
    releases,
    route,
    started,
    state,
    unroutable,
    whole_at,
    without_log,
)


def test_a_manual_hold_before_routing_stops_the_order_and_names_its_reason() -> None:
    saga = started()

    saga.put_on_hold(HoldReason.MANUAL, "customer asked to wait", NOW)

    assert state(saga) is SagaState.ON_HOLD
    assert saga.hold is not None
    assert (saga.hold.reason, saga.hold.detail, saga.hold.since) == (
        HoldReason.MANUAL,
        "customer asked to wait",
        NOW,
    )
    (held,) = events(saga, orch.OrderOnHold)
    assert (held.hold_id, held.reason_code, held.reason) == (
        saga.hold.id,
        "manual",
        "customer asked to wait",
    )
    assert saga.due_at is None  # the worker leaves it alone


def test_a_hold_after_reservation_releases_the_stock_and_keeps_the_units_to_plan() -> None:
    saga = started()
    rid = route(saga, part("WH-BER", alloc(saga, "L1", 2)), part("WH-HAM", alloc(saga, "L2", 1)))
    confirm(saga)  # reserved; the authorisation is queued
    assert state(saga) is SagaState.AUTHORIZING

    saga.put_on_hold(HoldReason.MANUAL, "", NOW)

    assert [r[0] for r in releases(saga)] == [rid]
    assert saga.held == []
    assert saga.unrouted == {"L1": 2, "L2": 1}


def test_release_plans_the_order_again_and_announces_the_released_hold() -> None:
    saga = started()
    saga.put_on_hold(HoldReason.MANUAL, "wait", NOW)
    hold_id = saga.hold.id if saga.hold else ""

    saga.release("customer confirmed", NOW)

    assert state(saga) is SagaState.ROUTING
    assert saga.due_at == NOW  # the worker routes it at once
    assert saga.hold is None
    (released,) = events(saga, orch.OrderHoldReleased)
    assert (released.hold_id, released.reason_code, released.reason) == (
        hold_id,
        "manual",
        "customer confirmed",
    )
    route(saga, whole_at(saga))
    confirm(saga)
    answer(saga, Kind.AUTHORIZE)
    assert state(saga) is SagaState.FULFILLING


def test_an_unroutable_order_released_later_routes_with_fresh_replans() -> None:
    saga = started()
    saga.apply_routing(unroutable(), NOW)
    saga.overdue(NOW + saga.policy.waiting_max)  # it waited too long: held
    assert saga.hold is not None and saga.hold.reason is HoldReason.UNROUTABLE
    saga.replans = 3

    saga.release("stock arrived", NOW)

    assert (state(saga), saga.replans) == (SagaState.ROUTING, 0)
    route(saga, whole_at(saga))
    assert events(saga, inv.ReserveStock)


def test_a_declined_order_released_is_reserved_and_authorised_again() -> None:
    saga, _ = declined(DeclinePolicy.ON_HOLD)
    assert saga.hold is not None and saga.hold.reason is HoldReason.PAYMENT_DECLINED
    assert saga.unrouted == {"L1": 2, "L2": 1}  # the units wait to be planned again

    saga.release("customer updated the card", NOW)
    route(saga, whole_at(saga))
    confirm(saga)

    assert state(saga) is SagaState.AUTHORIZING
    assert saga.payment.status == "pending"
    assert len(pending(saga, Kind.AUTHORIZE)) == 1
    answer(saga, Kind.AUTHORIZE)
    assert state(saga) is SagaState.FULFILLING


def test_each_hold_has_an_id_of_its_own() -> None:
    saga = started()
    saga.put_on_hold(HoldReason.MANUAL, "", NOW)
    first = saga.hold.id if saga.hold else ""
    saga.release("", NOW)
    saga.put_on_hold(HoldReason.MANUAL, "", NOW)

    assert saga.hold is not None and saga.hold.id != first


@pytest.mark.parametrize(
    ("setup", "because"),
    [
        (lambda s: s.put_on_hold(HoldReason.MANUAL, "", NOW), "already_on_hold"),
        (lambda s: route(s, whole_at(s)), "reservation_in_flight"),
        (lambda s: s.cancel(None, NOW), "finished"),
    ],
)
def test_a_hold_that_cannot_be_is_refused_with_why(setup: object, because: str) -> None:
    saga = started()
    setup(saga)  # type: ignore[operator]
    before = without_log(saga)

    with pytest.raises(HoldNotPossible) as refused:
        saga.put_on_hold(HoldReason.MANUAL, "", NOW)

    assert refused.value.extra == {"hold_refused_because": because}
    assert (saga.state, saga.hold, saga.unrouted) == (before.state, before.hold, before.unrouted)


def test_a_hold_is_refused_while_a_location_fulfils_the_order() -> None:
    saga = fulfilling()

    with pytest.raises(HoldNotPossible) as refused:
        saga.put_on_hold(HoldReason.MANUAL, "", NOW)

    assert refused.value.extra == {"hold_refused_because": "fulfilment_under_way"}


def test_a_reservation_in_flight_refusal_says_when_to_try_again() -> None:
    saga = started()
    route(saga, whole_at(saga))

    with pytest.raises(HoldNotPossible) as refused:
        saga.put_on_hold(HoldReason.MANUAL, "", NOW)

    assert refused.value.headers == {"Retry-After": "1"}


def test_releasing_an_order_not_on_hold_is_refused() -> None:
    saga = started()

    with pytest.raises(NotOnHold):
        saga.release("", NOW)
    assert events(saga, orch.OrderHoldReleased) == []


def test_an_order_waiting_for_stock_can_be_held_and_released_to_plan_again() -> None:
    saga = started()
    saga.apply_routing(unroutable(), NOW)

    saga.put_on_hold(HoldReason.MANUAL, "", NOW)
    assert (state(saga), saga.deadline_at) == (SagaState.ON_HOLD, None)
    saga.release("", NOW)

    assert (state(saga), saga.due_at) == (SagaState.ROUTING, NOW)


def test_cancelling_a_held_order_ends_the_hold_with_the_order() -> None:
    saga = started()
    saga.put_on_hold(HoldReason.MANUAL, "", NOW)

    saga.cancel(None, NOW)

    assert state(saga) is SagaState.CANCELLED
    assert saga.hold is None
    assert saga.cancelled == {"L1": 2, "L2": 1}


def test_a_decline_while_already_held_keeps_the_hold() -> None:
    saga = started()
    route(saga, whole_at(saga))
    confirm(saga)  # the authorisation is out
    saga.put_on_hold(HoldReason.MANUAL, "checking", NOW)
    hold = saga.hold

    answer(saga, Kind.AUTHORIZE, approved=False)

    assert state(saga) is SagaState.ON_HOLD
    assert saga.hold == hold
    assert len(events(saga, orch.OrderOnHold)) == 1


# --- a declined payment: a new payment method, or cancelled in the end ----------------------


def test_a_declined_order_waits_for_a_new_payment_method_under_a_deadline() -> None:
    saga, _ = declined(DeclinePolicy.ON_HOLD)

    assert saga.deadline_at == NOW + saga.policy.payment_recovery


def test_a_new_payment_method_reserves_and_authorises_the_order_again() -> None:
    saga, _ = declined(DeclinePolicy.ON_HOLD)
    hold_id = saga.hold.id if saga.hold else ""
    saga.events.clear()

    saga.new_payment_method("tok_visa_2", NOW)

    assert saga.order.payment_token == "tok_visa_2"
    assert (state(saga), saga.deadline_at, saga.payment.status) == (SagaState.ROUTING, None, "none")
    (released,) = events(saga, orch.OrderHoldReleased)
    assert (released.hold_id, released.reason_code) == (hold_id, "payment_declined")
    route(saga, whole_at(saga))
    confirm(saga)
    (authorize,) = pending(saga, Kind.AUTHORIZE)[-1:]
    answer(saga, Kind.AUTHORIZE)
    assert state(saga) is SagaState.FULFILLING
    assert authorize.amount == saga.order.grand_total


@pytest.mark.parametrize("setup", ["placed", "manual hold", "paid"])
def test_a_new_payment_method_for_an_order_not_declined_is_refused(setup: str) -> None:
    saga = fulfilling() if setup == "paid" else started()
    if setup == "manual hold":
        saga.put_on_hold(HoldReason.MANUAL, "", NOW)
    token = saga.order.payment_token

    with pytest.raises(PaymentNotNeeded):
        saga.new_payment_method("tok_visa_2", NOW)

    assert saga.order.payment_token == token


def test_no_new_payment_method_in_time_cancels_the_order_and_says_so() -> None:
    saga, _ = declined(DeclinePolicy.ON_HOLD)
    hold_id = saga.hold.id if saga.hold else ""
    deadline = saga.deadline_at
    assert deadline is not None
    saga.events.clear()

    saga.overdue(deadline)

    assert state(saga) is SagaState.CANCELLED
    assert saga.hold is None
    assert saga.cancelled == {"L1": 2, "L2": 1}
    (expired,) = events(saga, orch.PaymentRecoveryExpired)
    assert expired.hold_id == hold_id
    assert "no new payment method within 72 h" in expired.reason
    assert releases(saga) == []  # the hold released the stock already


def test_a_payment_hold_before_its_deadline_stays() -> None:
    saga, _ = declined(DeclinePolicy.ON_HOLD)
    assert saga.deadline_at is not None

    saga.overdue(saga.deadline_at - timedelta(seconds=1))

    assert state(saga) is SagaState.ON_HOLD
