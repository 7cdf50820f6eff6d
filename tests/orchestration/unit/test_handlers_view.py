"""Orchestration's view of inventory kept from inventory's events (service_layer.handlers.view),
on the fake unit of work: routing reads what was projected, an older location version never
overwrites a newer one, and a location active again counts as its stock changing."""

from __future__ import annotations

import dataclasses

from services.orchestration.domain import commands as c
from services.orchestration.domain.saga import SagaState
from tests.orchestration.unit.fakes import FakeBus
from tests.orchestration.unit.test_handlers_sagas import SKU, a_location, placed, state


async def test_an_order_is_routed_to_where_the_view_says_the_stock_is() -> None:
    bus = FakeBus()
    for code in ("WH-BER", "WH-HAM"):
        await bus.handle(a_location(code))
    await bus.handle(c.ProjectStock(SKU, "WH-BER", 1))  # too little for the order's two
    await bus.handle(c.ProjectStock(SKU, "WH-HAM", 5))

    order_id = await placed(bus)

    assert state(bus, order_id) is SagaState.RESERVING
    (decision,) = bus.storage.decisions
    assert [p["location_code"] for p in decision["body"]["parts"]] == ["WH-HAM"]


async def test_an_older_version_of_a_location_never_overwrites_a_newer_one() -> None:
    bus = FakeBus()
    await bus.handle(a_location(version=3))

    await bus.handle(dataclasses.replace(a_location(version=2), priority=1))

    assert bus.storage.locations["WH-BER"].version == 3
    assert bus.storage.locations["WH-BER"].priority == 500


async def test_a_location_active_again_counts_as_its_stock_changing() -> None:
    bus = FakeBus()

    await bus.handle(a_location(active=False))
    assert bus.storage.touched == []
    await bus.handle(a_location(active=True, version=2))

    assert bus.storage.touched == ["WH-BER"]


async def test_incoming_stock_is_kept_apart_from_stock_on_hand() -> None:
    bus = FakeBus()

    await bus.handle(c.ProjectStock(SKU, "WH-BER", 4))
    await bus.handle(c.ProjectIncoming(SKU, "WH-BER", 7))

    assert (bus.storage.available, bus.storage.incoming) == (
        {(SKU, "WH-BER"): 4},
        {(SKU, "WH-BER"): 7},
    )
