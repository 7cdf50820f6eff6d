"""The saga's handlers (service_layer.handlers.sagas) on the fake unit of work: an order placed,
routed from the view of inventory, reserved, authorised and released to its location; the
waits (grace, waiting for stock, overdue sweeps), manual review, payment retries and the
versioned documents. No database, no broker: each command runs in a fresh unit of work."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from libs.contracts import inventory as inv
from libs.errors import IdempotencyKeyReused, PreconditionFailed
from services.orchestration.adapters.strategies import DEFAULT, to_dict
from services.orchestration.domain import commands as c
from services.orchestration.domain.errors import SagaNotFound
from services.orchestration.domain.order import OrderLine, OrderSnapshot, ShipTo
from services.orchestration.domain.payments import Kind, OpStatus, ProviderResult
from services.orchestration.domain.routing.model import Method
from services.orchestration.domain.saga import HoldReason, SagaPolicy, SagaState
from tests.orchestration.unit.fakes import T0, FakeBus

SKU = "LAMP-001"


def an_order(*, sku: str = SKU, email: str = "", total: str = "44.90") -> OrderSnapshot:
    return OrderSnapshot(
        order_number="ORD-1001",
        channel="web",
        currency="EUR",
        placed_at=T0,
        lines=(OrderLine("L1", sku, 2, Decimal("40.00")),),
        ship_to=ShipTo("DE", 52.52, 13.405, "Ada Lovelace", "Main St 1", "Berlin", "10115"),
        method=Method.SHIP,
        service_level="standard",
        pickup_location=None,
        grand_total=Decimal(total),
        shipping_amount=Decimal("4.90"),
        customer_email=email,
    )


def a_location(code: str = "WH-BER", *, active: bool = True, version: int = 1) -> c.ProjectLocation:
    return c.ProjectLocation(
        code, "warehouse", active, ("ship",), "DE", 52.5, 13.4, 500, None, 0, None, "UTC", version
    )


async def stocked(bus: FakeBus, code: str = "WH-BER", sku: str = SKU, units: int = 10) -> None:
    """A location in the view of inventory holding `units` of the SKU."""
    await bus.handle(a_location(code))
    await bus.handle(c.ProjectStock(sku, code, units))


async def placed(
    bus: FakeBus, order: OrderSnapshot | None = None, *, token: str | None = "tok_visa"
) -> UUID:
    """The order's saga started, and its payment token kept as order-capture sends it (on its
    own topic; `token=None`: not come yet)."""
    order_id = uuid4()
    await bus.handle(c.StartSaga(order_id, order or an_order()))
    if token is not None:
        await bus.handle(c.KeepPaymentToken(order_id, token))
    return order_id


async def reserved(bus: FakeBus, order_id: UUID) -> None:
    """Inventory holds every unit the saga asked it to reserve."""
    in_flight = bus.storage.saga(order_id).in_flight
    assert in_flight is not None, "no reservation in flight"
    lines = [
        c.ReservedLine(
            sku=h.sku,
            location_code=h.location_code,
            quantity=h.quantity,
            held=h.quantity,
            line_id=h.line_id,
        )
        for h in in_flight.lines
    ]
    await bus.handle(c.RecordReservation(order_id, in_flight.reservation_id, True, lines))


async def paid(bus: FakeBus, order_id: UUID, kind: Kind, *, approved: bool = True) -> None:
    """The provider answered the oldest pending payment call of that kind."""
    op = next(op for op in bus.storage.pending_operations(order_id) if op.kind is kind)
    result = ProviderResult(True, reference="psp-1") if approved else None
    await bus.handle(c.RecordPaymentAnswer(op.id, result, order_id))


async def fulfilling(bus: FakeBus, order: OrderSnapshot | None = None) -> UUID:
    """An order routed to WH-BER, reserved and authorised: its fulfilment order is out."""
    await stocked(bus)
    order_id = await placed(bus, order)
    await reserved(bus, order_id)
    await paid(bus, order_id, Kind.AUTHORIZE)
    return order_id


def state(bus: FakeBus, order_id: UUID) -> SagaState:
    return bus.storage.saga(order_id).state


async def test_a_placed_order_is_routed_reserved_authorised_and_released_to_its_location() -> None:
    bus = FakeBus()
    await stocked(bus)

    order_id = await placed(bus)
    assert state(bus, order_id) is SagaState.RESERVING
    assert [d["outcome"] for d in bus.storage.decisions] == ["routed"]
    assert bus.storage.event_types(order_id) == [
        "oms.orchestration.routing_decided",
        "oms.inventory.reserve_stock",
    ]

    await reserved(bus, order_id)
    assert state(bus, order_id) is SagaState.AUTHORIZING
    (authorization,) = bus.storage.pending_operations(order_id)
    assert (authorization.kind, authorization.amount) == (Kind.AUTHORIZE, Decimal("44.90"))

    await paid(bus, order_id, Kind.AUTHORIZE)

    saga = bus.storage.saga(order_id)
    assert saga.state is SagaState.FULFILLING
    assert [(f.location_code, f.status.value) for f in saga.fulfillments] == [("WH-BER", "created")]
    assert bus.storage.step_names(order_id) == [
        "order_placed",
        "routed",
        "reserving",
        "stock_reserved",
        "authorizing",
        "payment_authorized",
        "fulfillment_created",
        "fulfilling",
    ]
    assert bus.storage.event_types(order_id)[2:] == [
        "oms.orchestration.order_routed",
        "oms.orchestration.payment_authorized",
        "oms.orchestration.fulfillment_created",
    ]


async def test_a_second_start_of_an_order_changes_and_announces_nothing() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus)
    before = (bus.storage.saga(order_id), list(bus.storage.outbox), list(bus.storage.decisions))

    await bus.handle(c.StartSaga(order_id, dataclasses.replace(an_order(), channel="store")))

    assert (bus.storage.saga(order_id), bus.storage.outbox, bus.storage.decisions) == before


async def test_an_order_nothing_serves_is_asked_about_in_its_grace_then_waits_for_stock() -> None:
    bus = FakeBus(routing_grace=timedelta(seconds=30))
    order_id = await placed(bus)  # the view knows no location at all

    saga = bus.storage.saga(order_id)
    assert saga.state is SagaState.ROUTING
    assert saga.due_at == T0 + timedelta(seconds=1)
    assert bus.storage.step_names(order_id)[-1] == "routing_retry"

    bus.clock.advance(timedelta(seconds=31))
    await bus.handle(c.RouteSaga(order_id, saga.round))

    assert state(bus, order_id) is SagaState.WAITING_FOR_STOCK
    assert [d["outcome"] for d in bus.storage.decisions] == ["unroutable"]


async def test_stock_that_arrives_serves_a_waiting_order_when_the_worker_plans_it_again() -> None:
    bus = FakeBus(routing_grace=timedelta(0))
    order_id = await placed(bus)
    assert state(bus, order_id) is SagaState.WAITING_FOR_STOCK

    await stocked(bus)
    await bus.handle(c.RouteSaga(order_id, bus.storage.saga(order_id).round))

    assert state(bus, order_id) is SagaState.RESERVING


def reserve_stock_priorities(bus: FakeBus) -> list[int]:
    return [e.priority for e in bus.storage.outbox if isinstance(e, inv.ReserveStock)]


async def test_an_expedited_order_asks_for_its_stock_first_in_the_backorder_queue() -> None:
    bus = FakeBus(routing_grace=timedelta(0))
    order_id = await placed(bus)
    assert state(bus, order_id) is SagaState.WAITING_FOR_STOCK

    await bus.handle(c.ChangePriority(order_id, "high"))
    assert bus.storage.saga(order_id).order.priority == "high"
    await stocked(bus)
    await bus.handle(c.RouteSaga(order_id, bus.storage.saga(order_id).round))

    assert state(bus, order_id) is SagaState.RESERVING
    assert reserve_stock_priorities(bus) == [50]


async def test_a_normal_order_asks_for_its_stock_at_the_default_priority() -> None:
    bus = FakeBus()
    await stocked(bus)
    await placed(bus)
    assert reserve_stock_priorities(bus) == [0]


async def test_an_order_priority_survives_the_saga_row() -> None:
    order = dataclasses.replace(an_order(), priority="high")
    assert OrderSnapshot.from_dict(order.to_dict()) == order
    stored_before_priorities = {k: v for k, v in an_order().to_dict().items() if k != "priority"}
    assert OrderSnapshot.from_dict(stored_before_priorities).priority == "normal"


async def test_a_new_strategy_makes_every_waiting_order_due_at_once() -> None:
    bus = FakeBus(routing_grace=timedelta(0))
    order_id = await placed(bus)
    waiting = bus.storage.saga(order_id)
    assert waiting.due_at is not None and waiting.due_at > T0

    version = await bus.handle(c.PutStrategy(to_dict(DEFAULT), expected_version=1))

    assert version == 2
    assert bus.storage.saga(order_id).due_at == T0


async def test_a_stale_strategy_version_is_refused_and_changes_nothing() -> None:
    bus = FakeBus()
    await bus.handle(c.PutStrategy(to_dict(DEFAULT)))

    with pytest.raises(PreconditionFailed):
        await bus.handle(c.PutStrategy(to_dict(DEFAULT), expected_version=1))

    assert len(bus.storage.documents["strategy"]) == 1


async def test_an_order_above_the_review_limit_is_held_before_anything_is_reserved() -> None:
    bus = FakeBus()
    await stocked(bus)
    await bus.handle(c.PutReviewRules({"max_order_value": "40.00"}, expected_version=None))

    order_id = await placed(bus)

    saga = bus.storage.saga(order_id)
    assert saga.state is SagaState.ON_HOLD
    assert saga.hold is not None and saga.hold.reason is HoldReason.REVIEW
    assert saga.hold.detail == "order value 44.90 EUR above 40.00"
    assert "oms.inventory.reserve_stock" not in bus.storage.event_types(order_id)

    await bus.handle(c.ActOnOrder(order_id, c.OrderAction.APPROVE, "looks fine", None, None, "fp"))
    assert state(bus, order_id) is SagaState.ROUTING  # due for the worker at once
    await bus.handle(c.RouteSaga(order_id, bus.storage.saga(order_id).round))

    assert state(bus, order_id) is SagaState.RESERVING


async def test_a_new_customers_first_order_is_reviewed_and_the_second_is_not() -> None:
    bus = FakeBus()
    await stocked(bus)
    await bus.handle(c.PutReviewRules({"new_customer_max_value": "10.00"}, expected_version=None))

    first = await placed(bus, an_order(email="ada@example.com"))
    second = await placed(bus, an_order(email="ADA@example.com"))

    assert state(bus, first) is SagaState.ON_HOLD
    assert state(bus, second) is SagaState.RESERVING
    assert bus.storage.customers["ada@example.com"] == (first, 2)


async def test_a_silent_provider_is_asked_again_then_given_up_on_as_the_policy_says() -> None:
    bus = FakeBus(policy=SagaPolicy(payment_attempts=2))
    await stocked(bus)
    order_id = await placed(bus)
    await reserved(bus, order_id)

    await paid(bus, order_id, Kind.AUTHORIZE, approved=False)  # no answer: None
    (op,) = bus.storage.pending_operations(order_id)
    assert op.attempts == 1
    assert op.next_attempt_at > bus.clock.now()
    assert state(bus, order_id) is SagaState.AUTHORIZING

    await paid(bus, order_id, Kind.AUTHORIZE, approved=False)

    given_up = bus.storage.operations[op.id]
    assert (given_up.status, given_up.code) == (OpStatus.FAILED, "provider_unavailable")
    assert state(bus, order_id) is not SagaState.AUTHORIZING


async def test_a_hold_sent_again_with_its_idempotency_key_takes_effect_once() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus)
    await reserved(bus, order_id)  # no hold while a reservation is being made
    hold = c.ActOnOrder(order_id, c.OrderAction.HOLD, "wait", None, "key-1", "fp-1")

    await bus.handle(hold)
    await bus.handle(hold)  # a second hold without the key would be 409 already_on_hold

    assert bus.storage.step_names(order_id).count("on_hold") == 1
    with pytest.raises(IdempotencyKeyReused):
        await bus.handle(dataclasses.replace(hold, fingerprint="fp-2"))


async def test_an_order_of_another_channel_is_not_found_for_a_narrowed_caller() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus)
    hold = c.ActOnOrder(order_id, c.OrderAction.HOLD, "", frozenset({"store"}), None, "fp")

    with pytest.raises(SagaNotFound):
        await bus.handle(hold)

    assert state(bus, order_id) is SagaState.RESERVING


async def test_a_reservation_inventory_never_answers_is_released_and_planned_again() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus)
    deadline = bus.storage.saga(order_id).deadline_at
    assert deadline == T0 + SagaPolicy().reservation_timeout

    assert await bus.handle(c.SweepOverdue()) is None  # nothing is overdue yet
    bus.clock.advance(SagaPolicy().reservation_timeout)
    swept = await bus.handle(c.SweepOverdue())

    assert swept == order_id
    assert "reservation_timed_out" in bus.storage.step_names(order_id)
    assert bus.storage.event_types(order_id)[-1] == "oms.inventory.release_reservation"
    assert state(bus, order_id) is SagaState.ROUTING
    assert await bus.handle(c.SweepOverdue()) is None


async def test_answers_about_an_order_without_a_saga_change_nothing_and_commands_are_404() -> None:
    bus = FakeBus()
    unknown = uuid4()

    await bus.handle(c.RecordReservation(unknown, "res-1", False, reason="insufficient stock"))
    with pytest.raises(SagaNotFound):
        await bus.handle(c.CancelUnits(unknown, None))

    assert bus.storage.sagas == {}
    assert bus.storage.outbox == []


async def test_an_order_cancelled_while_authorising_frees_its_stock_and_voids_its_money() -> None:
    bus = FakeBus()
    await stocked(bus)
    order_id = await placed(bus)
    await reserved(bus, order_id)

    await bus.handle(c.CancelUnits(order_id, None))
    assert bus.storage.event_types(order_id)[-1] == "oms.inventory.release_reservation"
    await paid(bus, order_id, Kind.AUTHORIZE)  # the answer the order waited for
    assert [op.kind for op in bus.storage.pending_operations(order_id)] == [Kind.VOID]
    await paid(bus, order_id, Kind.VOID)

    assert state(bus, order_id) is SagaState.CANCELLED
    assert bus.storage.step_names(order_id)[-2:] == ["payment_voided", "cancelled"]
