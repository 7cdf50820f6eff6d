"""A reservation whose lines all name their location writes itself first and takes its units
last, with one conditional UPDATE per stock row just before the commit. When a row is short,
what the rows before it gave is put back and the reservation is decided under locks, exactly
as before: all lines or none, the same 409 and the same `reservation_rejected`.

Several commands may also run in one transaction, one after another (a consumer handling a
batch of records does): each must see what the ones before it did to the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from libs.clock import SystemClock
from libs.outbox.writer import OutboxWriter
from libs.runtime import ServiceContainer
from services.inventory.adapters.tables import plumbing
from services.inventory.adapters.unit_of_work import SqlAlchemyInventoryUnitOfWork
from services.inventory.domain import commands
from services.inventory.domain.allocation import Request
from services.inventory.domain.reservation import LinePick
from services.inventory.messaging.publications import translate
from services.inventory.service_layer.handlers import reservations
from tests.inventory.integration.conftest import (
    create_location,
    problem,
    published,
    reserve,
    stock,
    stock_at,
    unique,
)

pytestmark = pytest.mark.usefixtures("migrated_databases")

MINE: set[str] = set()


async def shelf(client: httpx.AsyncClient, *on_hand: int) -> tuple[str, list[str]]:
    """A fresh location holding `on_hand[i]` units of SKU i; the SKUs sort in this order,
    so the stock rows are locked in it too."""
    code, base = unique("WH"), unique("SKU")
    await create_location(client, code)
    MINE.add(code)
    skus = [f"{base}-{chr(ord('A') + i)}" for i in range(len(on_hand))]
    for sku, units in zip(skus, on_hand, strict=True):
        await stock(client, code, sku, units)
    return code, skus


async def reasons_of(client: httpx.AsyncClient, sku: str) -> list[str]:
    r = await client.get(f"/v1/stock/{sku}/movements")
    assert r.status_code == 200, r.text
    return [m["reason"] for m in r.json()["items"]]


def one_transaction(container: ServiceContainer) -> SqlAlchemyInventoryUnitOfWork:
    outbox = OutboxWriter(table=plumbing.outbox, service="inventory", clock=SystemClock())
    return SqlAlchemyInventoryUnitOfWork(
        translate=translate,
        bulk_outbox=outbox,
        session_factory=container.session_factory,
        outbox=outbox,
        idempotency_table=plumbing.idempotency,
        clock=SystemClock(),
    )


def reserving(code: str, *lines: tuple[str, int]) -> commands.ReserveStock:
    return commands.ReserveStock(
        order_id=uuid.uuid4(),
        reservation_id=uuid.uuid4(),
        requests=tuple(Request(sku, quantity, code) for sku, quantity in lines),
    )


def data(events: Sequence[dict[str, Any]], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(e["data"][f] for f in fields) for e in events]


class TestAllOrNothing:
    async def test_a_short_row_after_a_taken_one_puts_its_units_back(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (first, second) = await shelf(client, 5, 1)
        order_id = str(uuid.uuid4())
        r = await reserve(client, (first, 2, code), (second, 3, code), order_id=order_id)
        body = problem(r, 409, "insufficient_stock")
        assert body["extensions"]["lines"] == [
            {"sku": second, "requested": 3, "available": 1, "location_code": code}
        ]
        assert (await stock_at(client, first, code))["reserved"] == 0
        # The units taken and put back leave no trace: no ledger row, no stock event.
        assert await reasons_of(client, first) == ["counted"]
        assert data(await published(container, first, "stock_changed"), "reasons") == [
            (["counted"],)
        ]
        events = await published(container, order_id)
        assert [e["type"] for e in events] == ["oms.inventory.reservation_rejected"]
        listed = (await client.get("/v1/reservations", params={"order_id": order_id})).json()
        assert [(x["status"], len(x["lines"])) for x in listed["items"]] == [("rejected", 2)]

    async def test_a_reservation_that_fits_takes_every_row_once(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (first, second) = await shelf(client, 5, 4)
        r = await reserve(client, (first, 2, code), (second, 1, code), (first, 1, code))
        assert r.status_code == 201, r.text
        assert [(x["sku"], x["held"]) for x in r.json()["lines"]] == [
            (first, 2),
            (second, 1),
            (first, 1),
        ]
        assert r.json() == (await client.get(f"/v1/reservations/{r.json()['id']}")).json()
        assert (await stock_at(client, first, code))["reserved"] == 3
        assert (await stock_at(client, second, code))["reserved"] == 1
        # Two lines of one row: one conditional UPDATE, one ledger row, one event.
        assert await reasons_of(client, first) == ["reserved", "counted"]
        changed = await published(container, first, "stock_changed")
        assert data(changed, "reserved", "available", "network_available", "reasons")[-1] == (
            3,
            2,
            2,
            ["reserved"],
        )

    async def test_stock_that_comes_back_is_still_taken_under_locks(
        self, client: httpx.AsyncClient
    ) -> None:
        """A row short for the late take is decided again under locks: what is there then
        is what counts (here nothing came back, so it is the rejection of a short line)."""
        code, (only,) = await shelf(client, 1)
        problem(await reserve(client, (only, 2, code)), 409, "insufficient_stock")
        assert (await reserve(client, (only, 1, code))).status_code == 201

    @pytest.mark.parametrize("unknown", ["location", "sku"])
    async def test_an_unknown_location_or_sku_still_writes_nothing(
        self, client: httpx.AsyncClient, container: ServiceContainer, unknown: str
    ) -> None:
        code, (sku,) = await shelf(client, 5)
        order_id = str(uuid.uuid4())
        line = (unique("GHOST"), 1, code) if unknown == "sku" else (sku, 1, unique("NOPE"))
        key = {"Idempotency-Key": unique("key")}
        problem(
            await reserve(client, line, order_id=order_id, headers=key), 422, f"unknown_{unknown}"
        )
        assert await published(container, order_id) == []
        listed = (await client.get("/v1/reservations", params={"order_id": order_id})).json()
        assert listed["items"] == []
        # Nothing was kept under the key either: the corrected request goes through.
        r = await reserve(client, (sku, 1, code), order_id=order_id, headers=key)
        assert r.status_code == 201, r.text


class TestSeveralCommandsInOneTransaction:
    async def test_a_second_reservation_sees_what_the_first_took(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (sku,) = await shelf(client, 4)
        first, second = reserving(code, (sku, 3)), reserving(code, (sku, 2))
        async with one_transaction(container) as uow:
            await reservations.reserve_stock(first, uow)
            await reservations.reserve_stock(second, uow)
            await uow.commit()
        assert (await stock_at(client, sku, code))["reserved"] == 3
        (confirmed,) = await published(container, str(first.order_id))
        (rejected,) = await published(container, str(second.order_id))
        assert (confirmed["type"], rejected["type"]) == (
            "oms.inventory.reservation_confirmed",
            "oms.inventory.reservation_rejected",
        )
        assert data([rejected], "lines") == [
            ([{"sku": sku, "requested": 2, "available": 1, "location_code": code}],)
        ]
        # One event for the row, with its state at the commit.
        changed = await published(container, sku, "stock_changed")
        assert data(changed[1:], "reserved", "available", "network_available") == [(3, 1, 1)]

    async def test_a_release_then_a_reservation_of_the_freed_units(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (sku, other) = await shelf(client, 2, 3)
        held = reserving(code, (sku, 2), (other, 1))
        async with one_transaction(container) as uow:
            await reservations.reserve_stock(held, uow)
            await uow.commit()
        later = reserving(code, (sku, 1), (other, 2))
        async with one_transaction(container) as uow:
            await reservations.release_reservation(
                commands.ReleaseReservation(
                    reservation_id=held.reservation_id or uuid.uuid4(),
                    picks=(LinePick(sku, 1),),
                ),
                uow,
            )
            await reservations.reserve_stock(later, uow)
            await uow.commit()
        assert (await stock_at(client, sku, code))["reserved"] == 2
        assert (await stock_at(client, other, code))["reserved"] == 3
        assert [e["type"] for e in await published(container, str(later.order_id))] == [
            "oms.inventory.reservation_confirmed"
        ]
        changed = await published(container, sku, "stock_changed")
        assert data(changed[-1:], "reserved", "available", "reasons") == [
            (2, 0, ["released", "reserved"])
        ]

    async def test_a_short_second_reservation_leaves_the_first_ones_rows_alone(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        """The second reservation takes a row the first took too, then finds another short:
        it puts back only its own units."""
        code, (a, b) = await shelf(client, 5, 1)
        first, second = reserving(code, (a, 2)), reserving(code, (a, 1), (b, 2))
        async with one_transaction(container) as uow:
            await reservations.reserve_stock(first, uow)
            await reservations.reserve_stock(second, uow)
            await uow.commit()
        assert (await stock_at(client, a, code))["reserved"] == 2
        assert (await stock_at(client, b, code))["reserved"] == 0
        assert await reasons_of(client, a) == ["reserved", "counted"]
        changed = await published(container, a, "stock_changed")
        assert data(changed[1:], "reserved", "reasons") == [(2, ["reserved"])]


class TestInvariants:
    async def test_every_counter_this_module_moved_matches_its_ledger(
        self, client: httpx.AsyncClient
    ) -> None:
        r = await client.get("/v1/invariants")
        assert r.status_code == 200, r.text
        assert [d for d in r.json()["drift"] if d["location_code"] in MINE] == []
        assert MINE
