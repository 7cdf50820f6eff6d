"""The saga's replies go through its step table (domain/saga/steps.py): each is one declared
Reply, the table hands it to the method the Reply names (ORDER_SAGA.take) exactly as calling
the method did, and the service layer has no other way to give the saga an answer."""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from uuid import uuid5

import pytest

from services.orchestration.domain.saga import (
    FULFILLMENT_LEFT,
    ORDER_SAGA,
    PAYMENT_ANSWERED,
    RESERVATION_CONFIRMED,
    ROUTING_DECIDED,
    OrderSaga,
    SagaState,
    steps,
)
from services.orchestration.domain.saga.definition import Reply
from tests.orchestration.unit.test_saga import (
    NOW,
    ORDER_ID,
    confirm,
    decision,
    reserved_lines,
    route,
    started,
    whole_at,
    without_log,
)

ORCHESTRATION = Path(__file__).parents[3] / "services" / "orchestration"

# The saga's own methods the service layer may call itself: none is an answer a step waits
# for (starting the saga, a person's hold, cancelling units, a new address, a new priority,
# the overdue sweep, and completing once a location tells a delivery or collection). A method
# that takes an answer belongs in the step table instead, as a Reply.
NOT_REPLIES = {
    "start",
    "put_on_hold",
    "cancel",
    "replan",
    "change_priority",
    "overdue",
    "check_completion",
}


def declared() -> dict[str, Reply[OrderSaga, ..., object]]:
    """The replies steps.py declares, by the name the service layer knows them by."""
    return {name: v for name, v in vars(steps).items() if isinstance(v, Reply)}


def outside_the_domain() -> Iterator[tuple[str, ast.Module]]:
    """Every module of orchestration that is not its domain, by name, parsed."""
    root = ORCHESTRATION.parents[1]
    for path in sorted(ORCHESTRATION.rglob("*.py")):
        if (ORCHESTRATION / "domain") in path.parents:
            continue
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        yield name, ast.parse(path.read_text(), str(path))


def names_a_module(module: str, node: ast.Attribute) -> bool:
    """True for `x.y` where x is a module (`sagas.request_refund` names a handler, not a
    saga's method). The module is imported only to ask (few attributes need it)."""
    base = node.value
    if not isinstance(base, ast.Name):
        return False
    return isinstance(getattr(importlib.import_module(module), base.id, None), ModuleType)


# --- the table --------------------------------------------------------------------------


def test_the_replies_declared_are_the_replies_the_table_lists_each_once() -> None:
    listed = list(ORDER_SAGA.replies())

    assert set(listed) == set(declared().values())
    assert len(listed) == len(set(listed))


def test_a_reply_listed_at_several_steps_is_one_reply() -> None:
    def steps_of(reply: Reply[OrderSaga, ..., object]) -> list[str]:
        return [s.name for s in ORDER_SAGA.steps_awaiting(reply)]

    assert steps_of(ROUTING_DECIDED) == ["route", "wait for stock"]
    assert steps_of(PAYMENT_ANSWERED) == ["authorize", "fulfil", "complete"]
    assert steps_of(FULFILLMENT_LEFT) == ["fulfil"]
    cases = [a.name for s in ORDER_SAGA.steps for a in s.replies if a.reply is PAYMENT_ANSWERED]
    assert cases == [
        "the provider approved the authorisation",
        "the provider declined the authorisation",
        "the provider answered a capture",
        "the provider answered a void",
    ]


# --- taking a reply -----------------------------------------------------------------------


def test_taking_a_reply_calls_its_method_and_returns_what_the_method_returns() -> None:
    saga = started()

    decision_id = ORDER_SAGA.take(saga, ROUTING_DECIDED, decision(whole_at(saga)), NOW)

    assert decision_id == str(uuid5(ORDER_ID, "decision-1"))
    assert saga.state is SagaState.RESERVING


def test_a_late_reply_is_handed_to_its_method_which_changes_nothing_as_before() -> None:
    saga = started()
    route(saga)
    lines = reserved_lines(saga)
    rid = confirm(saga)  # the saga moved on from reserve
    assert saga.state is not SagaState.RESERVING
    by_method, by_table = copy.deepcopy(saga), copy.deepcopy(saga)

    by_method.reservation_confirmed(rid, lines, NOW)
    ORDER_SAGA.take(by_table, RESERVATION_CONFIRMED, rid, lines, NOW)

    assert without_log(by_table) == without_log(by_method) == without_log(saga)


def test_a_reply_no_step_lists_is_refused_before_the_saga_hears_of_it() -> None:
    saga = started()
    stray = Reply("an answer nobody waits for", OrderSaga.keep_waiting)

    with pytest.raises(LookupError, match="an answer nobody waits for"):
        ORDER_SAGA.take(saga, stray, NOW)
    assert saga.due_at == NOW  # keep_waiting would have moved it a recheck away


# --- the service layer --------------------------------------------------------------------


def test_the_service_layer_names_every_declared_reply_and_no_other() -> None:
    names = set(declared())
    used = set()
    for _, tree in outside_the_domain():
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in names:
                used.add(node.id)
            if isinstance(node, ast.Attribute) and node.attr in names:
                used.add(node.attr)

    assert used == names


def test_the_service_layer_never_calls_a_reply_method_itself() -> None:
    handlers = {r.handler.__name__ for r in ORDER_SAGA.replies()}
    bypasses = [
        f"{module}:{node.lineno} .{node.attr}"
        for module, tree in outside_the_domain()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in handlers
        and not names_a_module(module, node)
    ]

    assert bypasses == []


def test_the_saga_methods_the_service_layer_calls_itself_are_not_replies() -> None:
    def is_method(name: str) -> bool:
        found = inspect.getattr_static(OrderSaga, name, None)
        return inspect.isfunction(found) or isinstance(found, classmethod | staticmethod)

    # What the service layer calls a saga: `saga`, and the class itself.
    called = {
        node.attr
        for _, tree in outside_the_domain()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("saga", "OrderSaga")
        and not node.attr.startswith("_")
        and is_method(node.attr)
    }

    assert called <= NOT_REPLIES, called - NOT_REPLIES
    assert not called & {r.handler.__name__ for r in ORDER_SAGA.replies()}
