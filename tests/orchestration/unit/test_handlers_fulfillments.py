"""What a location reports about its fulfilment orders (service_layer.handlers.fulfillments),
on the fake unit of work: each status in turn to delivery and the order's completion, a repeat
that changes nothing, an action out of turn, narrowing, short picks and the carrier chosen at
the order's own service level."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.orchestration.domain import commands as c
from services.orchestration.domain.errors import (
    ActionNotAllowed,
    FulfillmentNotFound,
    NoCarrierService,
)
from services.orchestration.domain.fulfillment import Action, Fulfillment, Status
from services.orchestration.domain.payments import Kind
from services.orchestration.domain.saga import SagaState
from tests.orchestration.unit.fakes import FakeBus
from tests.orchestration.unit.test_handlers_sagas import an_order, fulfilling, paid, state


def only_fulfillment(bus: FakeBus, order_id: UUID) -> Fulfillment:
    (f,) = bus.storage.saga(order_id).fulfillments
    return f


async def report(bus: FakeBus, f: Fulfillment, action: Action, **details: Any) -> Fulfillment:
    done: Fulfillment = await bus.handle(c.ActOnFulfillment(f.id, action, **details))
    return done


async def test_a_location_reports_each_status_to_delivery_and_the_order_completes() -> None:
    bus = FakeBus()
    order_id = await fulfilling(bus)
    f = only_fulfillment(bus, order_id)

    statuses = [(await report(bus, f, action)).status for action in _TO_SHIPPED]
    assert statuses == [Status.ACCEPTED, Status.PICKED, Status.PACKED, Status.SHIPPED]
    (capture,) = bus.storage.pending_operations(order_id)
    assert capture.kind is Kind.CAPTURE
    await paid(bus, order_id, Kind.CAPTURE)
    await report(bus, f, Action.DELIVER)

    assert only_fulfillment(bus, order_id).status is Status.DELIVERED
    assert state(bus, order_id) is SagaState.COMPLETED
    assert bus.storage.event_types(order_id)[-8:] == [
        "oms.orchestration.fulfillment_accepted",
        "oms.orchestration.fulfillment_picked",
        "oms.orchestration.fulfillment_packed",
        "oms.orchestration.fulfillment_shipped",
        "oms.inventory.commit_reservation",
        "oms.orchestration.payment_captured",
        "oms.orchestration.fulfillment_delivered",
        "oms.orchestration.order_completed",
    ]


_TO_SHIPPED = (Action.ACCEPT, Action.PICK, Action.PACK, Action.SHIP)


async def test_the_same_report_again_changes_and_announces_nothing() -> None:
    bus = FakeBus()
    order_id = await fulfilling(bus)
    f = only_fulfillment(bus, order_id)
    await report(bus, f, Action.ACCEPT)
    before = (bus.storage.saga(order_id), len(bus.storage.outbox))

    again = await report(bus, f, Action.ACCEPT)

    assert again.status is Status.ACCEPTED
    assert (bus.storage.saga(order_id), len(bus.storage.outbox)) == before


async def test_a_report_out_of_turn_is_refused_with_what_is_allowed() -> None:
    bus = FakeBus()
    order_id = await fulfilling(bus)
    f = only_fulfillment(bus, order_id)

    with pytest.raises(ActionNotAllowed) as refused:
        await report(bus, f, Action.SHIP)

    assert "cannot ship a fulfilment that is created" in str(refused.value)
    assert only_fulfillment(bus, order_id).status is Status.CREATED


async def test_a_fulfilment_of_another_channel_or_location_is_not_found() -> None:
    bus = FakeBus()
    order_id = await fulfilling(bus)
    f = only_fulfillment(bus, order_id)

    for narrowed in ({"channels": frozenset({"store"})}, {"locations": frozenset({"WH-HAM"})}):
        with pytest.raises(FulfillmentNotFound):
            await report(bus, f, Action.ACCEPT, **narrowed)
    with pytest.raises(FulfillmentNotFound):
        await bus.handle(c.ActOnFulfillment(uuid4(), Action.ACCEPT))

    accepted = await report(bus, f, Action.ACCEPT, channels=frozenset({"web"}))
    assert accepted.status is Status.ACCEPTED


async def test_a_short_pick_gives_the_missing_units_back_to_be_routed_again() -> None:
    bus = FakeBus()
    order_id = await fulfilling(bus)
    f = only_fulfillment(bus, order_id)
    await report(bus, f, Action.ACCEPT)

    picked = await report(bus, f, Action.PICK, picked={"L1": 1})

    assert [(ln.quantity, ln.short) for ln in picked.lines] == [(1, 1)]
    saga = bus.storage.saga(order_id)
    assert saga.unrouted == {"L1": 1}
    assert "WH-BER" in saga.excluded


async def test_shipping_without_a_carrier_never_picks_another_service_level() -> None:
    bus = FakeBus()
    same_day = dataclasses.replace(an_order(), service_level="same_day")
    order_id = await fulfilling(bus, same_day)
    f = only_fulfillment(bus, order_id)
    for action in (Action.ACCEPT, Action.PICK, Action.PACK):
        await report(bus, f, action)

    with pytest.raises(NoCarrierService):
        await report(bus, f, Action.SHIP)
    shipped = await report(
        bus, f, Action.SHIP, carrier="courier", service="same-day", tracking_number="SD000001"
    )

    assert shipped.shipment is not None
    assert (shipped.shipment.carrier, shipped.shipment.tracking_number) == ("courier", "SD000001")


async def test_a_standard_order_ships_with_a_standard_service_and_a_tracking_number() -> None:
    bus = FakeBus()
    order_id = await fulfilling(bus)
    f = only_fulfillment(bus, order_id)
    for action in (Action.ACCEPT, Action.PICK, Action.PACK):
        await report(bus, f, action)

    shipped = await report(bus, f, Action.SHIP)

    assert shipped.shipment is not None
    assert (shipped.shipment.carrier, shipped.shipment.service) in {
        ("dhl", "paket"),
        ("dpd", "classic"),
        ("ups", "standard"),
    }
    assert shipped.shipment.tracking_number
