"""Fulfilment orders: the status machine, repeats that change nothing, refusals that name
the allowed actions, and what pick, reject and withdraw hand back to the saga."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.orchestration.domain.errors import ActionNotAllowed
from services.orchestration.domain.fulfillment import (
    FINAL,
    RESULT,
    STOPPABLE,
    UNPICKED,
    Action,
    Fulfillment,
    FulfillmentLine,
    Status,
)

NOW = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
ORDER_ID = UUID("6f0c1f52-5d9f-4c56-9b8e-0d3a1c2b7e11")
FULFILLMENT_ID = UUID("1a2b3c4d-0000-4000-8000-000000000001")
RESERVATION = "res-1"

SHIP_PATH = (Action.ACCEPT, Action.PICK, Action.PACK, Action.SHIP, Action.DELIVER)
PICKUP_PATH = (Action.ACCEPT, Action.PICK, Action.PACK, Action.READY_FOR_PICKUP, Action.COLLECT)


def lines() -> list[FulfillmentLine]:
    return [
        FulfillmentLine("L1", "LAMP-001", 2, RESERVATION),
        FulfillmentLine("L2", "MUG-002", 1, RESERVATION),
    ]


def fulfillment(method: str = "ship", status: Status = Status.CREATED) -> Fulfillment:
    return Fulfillment(
        id=FULFILLMENT_ID,
        order_id=ORDER_ID,
        location_code="WH-BER",
        method=method,
        status=status,
        lines=lines(),
        created_at=NOW,
        updated_at=NOW,
        history=[{"status": "created", "at": NOW.isoformat(), "note": ""}],
    )


def take(f: Fulfillment, action: Action) -> None:
    """What the action handler does for a plain status move: check, then move."""
    assert f.check(action) is True
    f.move(action, LATER)


def refusal(f: Fulfillment, action: Action) -> ActionNotAllowed:
    with pytest.raises(ActionNotAllowed) as caught:
        f.check(action)
    return caught.value


# --- the paths ----------------------------------------------------------------------------


def test_a_new_fulfilment_may_be_accepted_or_rejected() -> None:
    f = fulfillment()

    assert f.allowed == (Action.ACCEPT, Action.REJECT)
    assert f.units == 3
    assert not f.is_final


@pytest.mark.parametrize(
    ("method", "path", "final"),
    [
        ("ship", SHIP_PATH, Status.DELIVERED),
        ("pickup", PICKUP_PATH, Status.COLLECTED),
    ],
)
def test_each_step_of_the_path_is_allowed_in_turn_and_recorded(
    method: str, path: tuple[Action, ...], final: Status
) -> None:
    f = fulfillment(method)

    for action in path:
        take(f, action)
        assert f.status is RESULT[action]

    assert f.status is final
    assert f.is_final
    assert f.allowed == ()
    assert f.version == 1 + len(path)
    assert f.updated_at == LATER
    assert [h["status"] for h in f.history] == ["created"] + [RESULT[a].value for a in path]


def test_a_pickup_may_be_ready_straight_after_the_pick() -> None:
    f = fulfillment("pickup")
    take(f, Action.ACCEPT)
    take(f, Action.PICK)

    assert [*f.allowed] == [Action.PACK, Action.READY_FOR_PICKUP]
    take(f, Action.READY_FOR_PICKUP)
    assert [*f.allowed] == [Action.COLLECT]


def test_a_location_may_reject_after_accepting_but_not_after_picking() -> None:
    accepted = fulfillment(status=Status.ACCEPTED)
    picked = fulfillment(status=Status.PICKED)

    assert accepted.check(Action.REJECT) is True
    error = refusal(picked, Action.REJECT)
    assert error.extra["allowed_actions"] == ["pack"]


# --- repeats and refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("ship", SHIP_PATH), ("pickup", PICKUP_PATH), ("ship", (Action.REJECT,))]
)
def test_an_action_repeated_right_after_it_took_effect_is_a_harmless_repeat(
    method: str, path: tuple[Action, ...]
) -> None:
    f = fulfillment(method)

    for action in path:
        take(f, action)
        version, history = f.version, list(f.history)
        assert f.check(action) is False  # the same report again
        assert (f.status, f.version, f.history) == (RESULT[action], version, history)


def test_an_action_out_of_turn_is_refused_with_the_actions_allowed_now() -> None:
    f = fulfillment()

    error = refusal(f, Action.SHIP)

    assert error.code == "action_not_allowed"
    assert error.extra == {"allowed_actions": ["accept", "reject"]}
    assert "cannot ship a fulfilment that is created" in error.detail
    assert f.status is Status.CREATED  # a refusal changes nothing


def test_a_finished_fulfilment_allows_nothing_more() -> None:
    for status in FINAL:
        f = fulfillment(status=status)
        for action in Action:
            if RESULT[action] is status:
                assert f.check(action) is False
            else:
                assert refusal(f, action).extra["allowed_actions"] == []


@pytest.mark.parametrize(
    ("method", "status", "action", "allowed"),
    [
        ("ship", Status.PACKED, Action.READY_FOR_PICKUP, ["ship"]),
        ("ship", Status.SHIPPED, Action.COLLECT, ["deliver"]),
        ("pickup", Status.PACKED, Action.SHIP, ["ready_for_pickup"]),
        ("pickup", Status.READY_FOR_PICKUP, Action.DELIVER, ["collect"]),
        ("ship", Status.CREATED, Action.PICK, ["accept", "reject"]),
        ("ship", Status.ACCEPTED, Action.PACK, ["pick", "reject"]),
        ("ship", Status.SHIPPED, Action.PICK, ["deliver"]),
    ],
)
def test_actions_of_the_other_method_or_out_of_order_are_refused(
    method: str, status: Status, action: Action, allowed: list[str]
) -> None:
    f = fulfillment(method, status)

    assert refusal(f, action).extra["allowed_actions"] == allowed


@pytest.mark.parametrize("method", ["ship", "pickup"])
@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_check_either_allows_recognises_a_repeat_or_refuses(
    method: str, status: Status, action: Action
) -> None:
    f = fulfillment(method, status)

    if action in f.allowed:
        assert f.check(action) is True
    elif RESULT[action] is status:
        assert f.check(action) is False
    else:
        assert refusal(f, action).extra["allowed_actions"] == [a.value for a in f.allowed]
    assert f.status is status and f.version == 1  # checking never moves anything


# --- pick -----------------------------------------------------------------------------------


def test_a_full_pick_has_no_short_units() -> None:
    f = fulfillment(status=Status.ACCEPTED)

    shorts = f.pick({"L1": 2, "L2": 1}, LATER)

    assert shorts == []
    assert f.status is Status.PICKED
    assert [(ln.quantity, ln.short) for ln in f.lines] == [(2, 0), (1, 0)]
    assert f.history[-1] == {"status": "picked", "at": LATER.isoformat(), "note": "picked in full"}


def test_a_short_pick_returns_only_the_missing_units_with_their_reservation() -> None:
    f = fulfillment(status=Status.ACCEPTED)

    shorts = f.pick({"L1": 1, "L2": 1}, LATER)

    assert shorts == [FulfillmentLine("L1", "LAMP-001", 1, RESERVATION)]
    assert [(ln.line_id, ln.quantity, ln.short) for ln in f.lines] == [
        ("L1", 1, 1),
        ("L2", 1, 0),
    ]
    assert f.units == 2
    assert f.status is Status.PICKED
    assert f.history[-1]["note"] == "1 units short"


def test_a_line_left_out_of_the_pick_counts_as_found_and_more_than_owed_is_capped() -> None:
    f = fulfillment(status=Status.ACCEPTED)

    shorts = f.pick({"L1": 5}, LATER)

    assert shorts == []
    assert [ln.quantity for ln in f.lines] == [2, 1]


def test_nothing_found_returns_every_unit() -> None:
    f = fulfillment(status=Status.ACCEPTED)

    shorts = f.pick({"L1": 0, "L2": 0}, LATER)

    assert [(s.line_id, s.quantity) for s in shorts] == [("L1", 2), ("L2", 1)]
    assert f.units == 0


# --- reject ---------------------------------------------------------------------------------


def test_a_rejection_gives_back_every_unit_still_owed() -> None:
    f = fulfillment()
    f.lines[1].quantity = 0  # already withdrawn: nothing of it to give back

    units = f.reject("no staff", LATER)

    assert units == [FulfillmentLine("L1", "LAMP-001", 2, RESERVATION)]
    assert f.status is Status.REJECTED
    assert f.reason == "no staff"
    assert f.is_final
    assert f.history[-1] == {"status": "rejected", "at": LATER.isoformat(), "note": "no staff"}


# --- withdraw -------------------------------------------------------------------------------


def test_a_partial_withdrawal_takes_what_is_wanted_and_keeps_the_status() -> None:
    f = fulfillment(status=Status.PICKED)
    wanted = {"L1": 1}

    taken = f.withdraw(wanted, LATER, "cancelled")

    assert taken == [FulfillmentLine("L1", "LAMP-001", 1, RESERVATION)]
    assert wanted == {"L1": 0}
    assert [(ln.quantity, ln.cancelled) for ln in f.lines] == [(1, 1), (1, 0)]
    assert f.status is Status.PICKED
    assert f.version == 2
    assert f.updated_at == LATER


def test_withdrawing_every_unit_cancels_the_fulfilment() -> None:
    f = fulfillment()
    wanted = {"L1": 5, "L2": 1, "L9": 3}

    taken = f.withdraw(wanted, LATER, "re-planned")

    assert [(t.line_id, t.quantity) for t in taken] == [("L1", 2), ("L2", 1)]
    assert wanted == {"L1": 3, "L2": 0, "L9": 3}  # what this fulfilment could not give
    assert f.units == 0
    assert f.status is Status.CANCELLED
    assert f.reason == "re-planned"
    assert f.is_final
    assert f.history[-1] == {
        "status": "cancelled",
        "at": LATER.isoformat(),
        "note": "re-planned",
    }


def test_withdrawing_nothing_changes_nothing() -> None:
    f = fulfillment()
    wanted = {"L9": 1}

    assert f.withdraw(wanted, LATER, "cancelled") == []
    assert (f.status, f.version, f.updated_at, f.units) == (Status.CREATED, 1, NOW, 3)
    assert wanted == {"L9": 1}


def test_stoppable_and_unpicked_statuses() -> None:
    assert set(UNPICKED) <= set(STOPPABLE)
    assert Status.PICKED in STOPPABLE and Status.PICKED not in UNPICKED
    assert not set(STOPPABLE) & (FINAL | {Status.SHIPPED})
