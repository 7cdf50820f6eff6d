"""Orchestration's reservations share a consumer batch's transaction when the rows they take
are known beforehand (ReserveStock.batchable): the unit of work locks every one of those rows
first, in the global order; a reservation short of stock sends the batch back, to be handled
one by one (where a shortage is decided under locks and recorded as a rejection)."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import replace

import httpx
import pytest

from libs.bus.message_bus import Delivery, HandleAlone
from libs.observability.correlation import correlation_scope
from libs.runtime import ServiceContainer
from services.inventory.domain import commands
from services.inventory.domain.allocation import Request
from tests.inventory.integration.conftest import (
    create_location,
    published,
    stock,
    stock_at,
    unique,
)


def reserve(
    lines: list[tuple[str, int]],
    location: str | None,
    *,
    allow_backorder: bool = False,
    reservation_id: uuid.UUID | None = None,
) -> commands.ReserveStock:
    """As orchestration asks (with the reservation's id), or without an id."""
    return commands.ReserveStock(
        reservation_id=reservation_id,
        order_id=uuid.uuid4(),
        requests=tuple(Request(sku, quantity, location) for sku, quantity in lines),
        allow_backorder=allow_backorder,
    )


def delivery(cmd: commands.ReserveStock) -> Delivery:
    return Delivery(cmd, None, str(cmd.order_id), contextlib.nullcontext)


async def replies(container: ServiceContainer, cmd: commands.ReserveStock) -> list[str]:
    events = await published(
        container, str(cmd.order_id), "reservation_confirmed", "reservation_rejected"
    )
    return [e["type"].rsplit(".", 1)[1] for e in events]


async def test_a_batch_of_reservations_commits_together(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    location = unique("BATCH")
    await create_location(client, location)
    lamp, bulb = unique("LAMP"), unique("BULB")
    await stock(client, location, lamp, 10)
    await stock(client, location, bulb, 10)
    # Listed in the opposite order to the rows' global order: the batch locks them first.
    batch = [reserve([(bulb, 1), (lamp, 2)], location) for _ in range(3)]
    assert all(container.bus.batchable(cmd) for cmd in batch)

    await container.bus.handle_batch([delivery(cmd) for cmd in batch])

    assert (await stock_at(client, lamp, location))["reserved"] == 6
    assert (await stock_at(client, bulb, location))["reserved"] == 3
    for cmd in batch:
        assert await replies(container, cmd) == ["reservation_confirmed"]
    # Each row announced once for the batch's transaction, with its counters after the
    # last take (the ones in between were never committed), as one transaction should.
    for sku, reserved in ((lamp, 6), (bulb, 3)):
        stocking, announced = await published(container, sku, "stock_changed")
        assert stocking["data"]["reserved"] == 0
        assert announced["data"]["reserved"] == reserved
        assert announced["data"]["available"] == 10 - reserved
        assert announced["data"]["reasons"] == ["reserved"]


async def test_a_batch_writes_and_announces_its_takes_as_one_by_one_would(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    """The batch's takes are decided on the rows it locked and written at its commit: the
    counters, one ledger row per take with the counters after it, and one announcement per
    row, with its counters and the network figure after every take of the batch."""
    first, second = unique("BATCH"), unique("BATCH")
    await create_location(client, first)
    await create_location(client, second)
    sku = unique("LAMP")
    await stock(client, first, sku, 10)
    await stock(client, second, sku, 20)
    batch = [
        reserve([(sku, 2)], first, reservation_id=uuid.uuid4()),
        reserve([(sku, 3)], second, reservation_id=uuid.uuid4()),
        reserve([(sku, 1)], first),
    ]

    await container.bus.handle_batch([delivery(cmd) for cmd in batch])

    assert (await stock_at(client, sku, first))["reserved"] == 3
    assert (await stock_at(client, sku, second))["reserved"] == 3
    announced = [
        (e["data"]["location_code"], e["data"]["reserved"], e["data"]["network_available"])
        for e in (await published(container, sku, "stock_changed"))[2:]  # after the stocking
    ]
    assert sorted(announced) == sorted([(first, 3, 24), (second, 3, 24)])
    r = await client.get(f"/v1/stock/{sku}/movements")
    assert r.status_code == 200, r.text
    taken = [
        (m["location_code"], m["reserved_delta"], m["reserved_after"], m["on_hand_after"])
        for m in reversed(r.json()["items"])
        if m["reason"] == "reserved"
    ]
    assert taken == [(first, 2, 2, 10), (second, 3, 3, 20), (first, 1, 3, 10)]
    for cmd in batch:
        assert await replies(container, cmd) == ["reservation_confirmed"]
    for cmd in batch[:2]:
        r = await client.get(f"/v1/reservations/{cmd.reservation_id}")
        assert r.status_code == 200, r.text
        assert [(ln["sku"], ln["held"]) for ln in r.json()["lines"]] == [
            (sku, cmd.requests[0].quantity)
        ]


async def test_announcements_keep_the_story_of_the_one_command_that_changed_the_rows(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    """A row changed by one command is announced under that command's correlation and
    causation; a row several commands of a batch changed, under ids of its own (its change
    has no single cause), never under one of theirs."""
    location = unique("BATCH")
    await create_location(client, location)
    alone, shared = unique("LAMP"), unique("BULB")
    await stock(client, location, alone, 10)
    await stock(client, location, shared, 10)

    def told(cmd: commands.ReserveStock, story: str) -> Delivery:
        return Delivery(
            cmd, None, str(cmd.order_id), lambda: correlation_scope(story, f"{story}-cause")
        )

    await container.bus.handle_batch([told(reserve([(alone, 1)], location), "story-a")])
    await container.bus.handle_batch(
        [
            told(reserve([(shared, 1)], location), "story-b"),
            told(reserve([(shared, 2)], location), "story-c"),
        ]
    )

    *_, by_one = await published(container, alone, "stock_changed")
    assert (by_one["correlationid"], by_one["causationid"]) == ("story-a", "story-a-cause")
    *_, by_two = await published(container, shared, "stock_changed")
    assert by_two["data"]["reserved"] == 3
    assert by_two["correlationid"] not in ("story-b", "story-c")
    assert "causationid" not in by_two


async def test_a_reservation_asked_for_again_in_a_batch_holds_once(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    """Orchestration asks again (a retry of its command, another event): the reservation
    made before is kept, and the batch's new one is made beside it."""
    location = unique("BATCH")
    await create_location(client, location)
    sku = unique("LAMP")
    await stock(client, location, sku, 10)
    earlier = reserve([(sku, 2)], location, reservation_id=uuid.uuid4())
    await container.bus.handle(earlier)
    again, new = replace(earlier), reserve([(sku, 3)], location, reservation_id=uuid.uuid4())

    await container.bus.handle_batch([delivery(again), delivery(new)])

    assert (await stock_at(client, sku, location))["reserved"] == 5
    for cmd in (earlier, new):
        r = await client.get(f"/v1/reservations/{cmd.reservation_id}")
        assert r.status_code == 200, r.text
    assert await replies(container, earlier) == ["reservation_confirmed"]
    assert await replies(container, new) == ["reservation_confirmed"]


async def test_a_reservation_short_of_stock_sends_the_batch_back(
    container: ServiceContainer, client: httpx.AsyncClient
) -> None:
    location = unique("BATCH")
    await create_location(client, location)
    sku = unique("LAMP")
    await stock(client, location, sku, 5)
    first, short, last = (reserve([(sku, n)], location) for n in (3, 3, 1))

    with pytest.raises(HandleAlone):
        await container.bus.handle_batch([delivery(cmd) for cmd in (first, short, last)])

    # Nothing of the batch stays: not the reservations before the short one either.
    assert (await stock_at(client, sku, location))["reserved"] == 0
    for cmd in (first, short, last):
        assert await replies(container, cmd) == []

    # One by one, as the consumer then handles them: the short one is rejected.
    for cmd in (first, short, last):
        await container.bus.handle(cmd)
    assert (await stock_at(client, sku, location))["reserved"] == 4
    assert await replies(container, first) == ["reservation_confirmed"]
    assert await replies(container, short) == ["reservation_rejected"]
    assert await replies(container, last) == ["reservation_confirmed"]


def test_only_reservations_naming_their_rows_on_hand_share_a_batch(
    container: ServiceContainer,
) -> None:
    assert container.bus.batchable(reserve([("A", 1)], "WH-1"))
    assert not container.bus.batchable(reserve([("A", 1)], None))  # any location: compared
    assert not container.bus.batchable(reserve([("A", 1)], "WH-1", allow_backorder=True))
