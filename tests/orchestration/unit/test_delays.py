"""Delays: promised dispatches, backorders promised again when their delivery is cancelled,
lapsed units routed again, and order_delayed whenever the order will leave later."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

from libs.contracts import orchestration as orch
from services.orchestration.adapters import mappers
from services.orchestration.domain import commands
from services.orchestration.domain.fulfillment import Action
from services.orchestration.domain.routing.model import Outcome
from services.orchestration.domain.saga import HoldReason, OrderSaga, SagaState
from tests.orchestration.unit.test_saga import (
    LAMP,
    NOW,
    act,
    alloc,
    events,
    fulfilling,
    part,
    route,
    ship,
    started,
    state,
    unroutable,
)

# NOW is Monday 2024-05-06 09:00 UTC; the test locations dispatch in UTC, Monday to Friday.
FRIDAY = datetime(2024, 5, 10, 8, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2024, 5, 13, 8, 0, tzinfo=UTC)
MIDNIGHT = time(0)


def end_of(day: datetime) -> datetime:
    return datetime.combine(day.date() + timedelta(days=1), MIDNIGHT, tzinfo=UTC)


def backordered(expected_at: datetime = FRIDAY) -> tuple[OrderSaga, str]:
    """Two lamps backordered at WH-BER (expected `expected_at`), the mug held there."""
    saga = started()
    rid = route(
        saga,
        part("WH-BER", alloc(saga, "L1", 2, backorder=True), alloc(saga, "L2", 1)),
        outcome=Outcome.BACKORDERED,
    )
    saga.reservation_confirmed(
        rid,
        [
            commands.ReservedLine(
                sku=LAMP,
                location_code="WH-BER",
                quantity=2,
                held=0,
                backordered=2,
                expected_at=expected_at,
                line_id="L1",
            ),
            commands.ReservedLine(
                sku="MUG-002", location_code="WH-BER", quantity=1, held=1, line_id="L2"
            ),
        ],
        NOW,
    )
    saga.events.clear()
    return saga, rid


def repromised(
    expected_at: datetime | None, *, backordered: int = 2, lapsed: int = 0
) -> list[commands.RepromisedLine]:
    return [
        commands.RepromisedLine(
            sku=LAMP,
            location_code="WH-BER",
            line_id="L1",
            backordered=backordered,
            expected_at=expected_at,
            previous_expected_at=FRIDAY,
            lapsed=lapsed,
        )
    ]


def test_a_backorder_is_promised_to_leave_on_the_day_its_stock_is_expected() -> None:
    saga, _ = backordered()

    assert state(saga) is SagaState.BACKORDERED
    assert saga.dispatch_due_at == end_of(FRIDAY)
    (promise,) = saga.promises
    assert (promise.location_code, promise.lines) == ("WH-BER", {"L1": 2})


def test_a_later_promise_from_inventory_delays_the_order_with_the_new_estimate() -> None:
    saga, rid = backordered()

    saga.backorder_repromised(rid, repromised(NEXT_MONDAY), "inbound_cancelled", NOW)

    (delayed,) = events(saga, orch.OrderDelayed)
    assert delayed.reason_code == "inbound_cancelled"
    assert (delayed.previous_estimate, delayed.new_estimate) == (
        end_of(FRIDAY),
        end_of(NEXT_MONDAY),
    )
    assert [(ln.line_id, ln.quantity) for ln in delayed.lines] == [("L1", 2)]
    assert saga.dispatch_due_at == end_of(NEXT_MONDAY)
    assert state(saga) is SagaState.BACKORDERED  # still waiting, for a later delivery
    assert saga.held[0].expected_at == NEXT_MONDAY


def test_an_earlier_promise_moves_the_promise_without_a_delay() -> None:
    saga, rid = backordered(expected_at=NEXT_MONDAY)

    saga.backorder_repromised(rid, repromised(FRIDAY), "inbound_cancelled", NOW)

    assert events(saga, orch.OrderDelayed) == []
    assert saga.dispatch_due_at == end_of(FRIDAY)


def test_lapsed_units_are_routed_again_and_the_delay_has_no_estimate_yet() -> None:
    saga, rid = backordered()

    saga.backorder_repromised(
        rid, repromised(NEXT_MONDAY, backordered=1, lapsed=1), "inbound_cancelled", NOW
    )

    assert saga.unrouted["L1"] == 1
    assert state(saga) is SagaState.ROUTING and saga.due_at == NOW
    lamps = next(h for h in saga.held if h.line_id == "L1")
    assert (lamps.quantity, lamps.backordered) == (1, 1)
    codes = [(e.reason_code, e.new_estimate) for e in events(saga, orch.OrderDelayed)]
    assert codes == [
        ("inbound_cancelled", end_of(NEXT_MONDAY)),
        ("backorder_lapsed", None),
    ]


def test_a_backorder_lapsing_whole_leaves_no_promise_behind() -> None:
    saga, rid = backordered()

    saga.backorder_repromised(
        rid, repromised(None, backordered=0, lapsed=2), "inbound_cancelled", NOW
    )

    assert [h.line_id for h in saga.held] == ["L2"]
    assert saga.promises == []
    (delayed,) = events(saga, orch.OrderDelayed)
    assert (delayed.reason_code, delayed.previous_estimate) == ("backorder_lapsed", end_of(FRIDAY))
    # Routed again: with the mug still held, the re-plan only asks for the lamps.
    assert saga.unrouted == {"L1": 2, "L2": 0}


def test_a_repromise_for_another_reservation_changes_nothing() -> None:
    saga, _ = backordered()

    saga.backorder_repromised("someone-elses", repromised(None, lapsed=2), "inbound_cancelled", NOW)

    assert events(saga, orch.OrderDelayed) == []
    assert saga.unrouted == {"L1": 0, "L2": 0}
    assert state(saga) is SagaState.BACKORDERED


def test_stock_that_is_late_delays_the_order_to_the_next_dispatch_day() -> None:
    saga, _ = backordered()
    saturday = end_of(FRIDAY) + timedelta(minutes=5)

    saga.overdue(saturday)

    (delayed,) = events(saga, orch.OrderDelayed)
    assert delayed.reason_code == "dispatch_overdue"
    assert "stock has not arrived" in delayed.reason
    # Saturday: the next dispatch day is Monday, late from Tuesday 00:00.
    assert delayed.new_estimate == end_of(NEXT_MONDAY)
    saga.events.clear()
    saga.overdue(saturday)
    assert events(saga, orch.OrderDelayed) == []  # told once per missed day


def test_a_fulfilment_still_in_the_building_after_its_ship_date_is_delayed() -> None:
    saga = fulfilling()
    (f,) = saga.fulfillments
    act(saga, f, Action.ACCEPT)
    assert saga.dispatch_due_at == end_of(NOW)
    tuesday = end_of(NOW) + timedelta(hours=1)

    saga.overdue(tuesday)

    (delayed,) = events(saga, orch.OrderDelayed)
    assert (delayed.previous_estimate, delayed.new_estimate) == (end_of(NOW), end_of(tuesday))
    assert saga.dispatch_due_at == end_of(tuesday)


def test_a_shipped_fulfilment_is_never_late() -> None:
    saga = fulfilling()
    ship(saga, saga.fulfillments[0])

    saga.overdue(end_of(NOW) + timedelta(days=3))

    assert events(saga, orch.OrderDelayed) == []
    assert saga.dispatch_due_at is None


def test_a_held_order_promises_nothing() -> None:
    saga, _ = backordered()

    saga.put_on_hold(HoldReason.MANUAL, "customer asked to wait", NOW)

    assert saga.dispatch_due_at is None


def test_promises_and_backorder_dates_survive_a_save() -> None:
    saga, _ = backordered()
    row = SimpleNamespace(
        order_id=saga.order_id,
        state=saga.state.value,
        started_at=saga.started_at,
        updated_at=saga.updated_at,
        due_at=saga.due_at,
        deadline_at=saga.deadline_at,
        version=saga.version,
        data=json.loads(json.dumps(mappers.saga_data(saga))),  # as the JSONB column keeps it
    )

    loaded = mappers.saga_from(row, [])

    assert loaded.promises == saga.promises
    assert loaded.held == saga.held


def test_lapsed_units_nothing_serves_in_time_hold_the_order_backorder_lapsed() -> None:
    saga, rid = backordered()
    saga.backorder_repromised(
        rid, repromised(None, backordered=0, lapsed=2), "inbound_cancelled", NOW
    )
    saga.apply_routing(unroutable(), NOW)
    assert state(saga) is SagaState.WAITING_FOR_STOCK

    saga.overdue(NOW + saga.policy.waiting_max)

    assert saga.hold is not None and saga.hold.reason is HoldReason.BACKORDER_LAPSED


def test_an_order_that_never_had_a_backorder_is_held_unroutable_after_waiting() -> None:
    saga = started()
    saga.apply_routing(unroutable(), NOW)

    saga.overdue(NOW + saga.policy.waiting_max)

    assert saga.hold is not None and saga.hold.reason is HoldReason.UNROUTABLE
