"""What inventory consumes, through its translators and the bus with an inbox entry (as the
consumer runs them): release and reserve commands apply once, returned units whose disposition
is restock go back on hand, a redelivered event changes nothing; and the expiry job releases
temporary holds that ran out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from libs.contracts import inventory as inv
from libs.contracts.base import IntegrationEvent
from libs.contracts.returns import ReturnedLine, ReturnReceived
from libs.ids import new_id
from libs.outbox.inbox import InboxEntry
from libs.runtime import ServiceContainer
from services.inventory.bootstrap import bootstrap, expire_holds_job
from services.inventory.domain.allocation import Request
from services.inventory.domain.commands import ConfirmReservation, ReserveStock
from services.inventory.messaging.subscriptions import SUBSCRIPTIONS
from tests.inventory.integration.conftest import (
    FakeClock,
    client_for,
    create_location,
    published,
    stock,
    taking_turns_with_the_expiry_job,
    unique,
)
from tests.support.events import envelope_of

pytestmark = pytest.mark.usefixtures("migrated_databases")

CONSUMER = "inventory"
NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


async def deliver(
    container: ServiceContainer, event: IntegrationEvent, *, event_id: str | None = None
) -> Any:
    """Hand `event` to inventory as its consumer does: translate it, then run the command
    with an inbox entry for the event's id (a redelivery keeps the id)."""
    env = envelope_of(
        event, at=NOW, event_id=event_id or str(new_id()), correlation_id=str(uuid.uuid4())
    )
    command = SUBSCRIPTIONS[event.topic][event.event_type](env)
    entry = InboxEntry(CONSUMER, env.id, env.type, event.topic)
    return await container.bus.handle(command, inbox=entry)


async def shelf(client: httpx.AsyncClient, *units: int) -> tuple[str, list[str]]:
    """A fresh location with fresh SKUs holding the given units."""
    code, skus = unique("WH"), [unique("SKU") for _ in units]
    await create_location(client, code)
    for sku, n in zip(skus, units, strict=True):
        await stock(client, code, sku, n)
    return code, skus


async def on_hand_and_reserved(client: httpx.AsyncClient, sku: str) -> tuple[int, int]:
    level = (await client.get(f"/v1/stock/{sku}")).json()
    return level["on_hand"], level["reserved"]


async def reserve(client: httpx.AsyncClient, order_id: str, *lines: tuple[str, int]) -> str:
    r = await client.post(
        "/v1/reservations",
        json={"order_id": order_id, "lines": [{"sku": s, "quantity": q} for s, q in lines]},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def return_received(
    order_id: str, location: str, receipt_id: str, lines: list[tuple[str | None, int, str, str]]
) -> ReturnReceived:
    """Lines as (sku, quantity, condition, disposition)."""
    return ReturnReceived(
        order_id=order_id,
        return_id="RMA-1",
        receipt_id=receipt_id,
        location_code=location,
        lines=[
            ReturnedLine(line_id=f"l{i}", quantity=q, condition=c, sku=s, disposition=d)
            for i, (s, q, c, d) in enumerate(lines)
        ],
        received_at=NOW,
    )


class TestReleaseReservationCommand:
    """Orchestration owns an order's reservations and releases them by command (cancelled
    units, re-routed units); inventory no longer reads order events for that."""

    async def test_a_whole_release_gives_every_hold_back_once(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        _, (lamp, shade) = await shelf(client, 5, 5)
        order_id = str(uuid.uuid4())
        res_id = await reserve(client, order_id, (lamp, 2), (shade, 1))
        command = inv.ReleaseReservation(
            order_id=order_id, reservation_id=res_id, reason="cancelled"
        )
        event_id = str(new_id())
        await deliver(container, command, event_id=event_id)
        await deliver(container, command, event_id=event_id)
        assert [await on_hand_and_reserved(client, s) for s in (lamp, shade)] == [(5, 0), (5, 0)]
        (released,) = await published(container, order_id, "reservation_released")
        assert (released["data"]["reason"], released["data"]["remaining_open"]) == ("cancelled", 0)

    async def test_a_partial_release_gives_back_only_the_named_units(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (lamp, shade) = await shelf(client, 5, 5)
        order_id = str(uuid.uuid4())
        res_id = await reserve(client, order_id, (lamp, 3), (shade, 1))
        command = inv.ReleaseReservation(
            order_id=order_id,
            reservation_id=res_id,
            lines=[inv.ReleaseLine(sku=lamp, quantity=1, location_code=code)],
            reason="cancelled",
        )
        event_id = str(new_id())
        for _ in range(2):  # the redelivery must not release a second unit
            await deliver(container, command, event_id=event_id)
        assert [await on_hand_and_reserved(client, s) for s in (lamp, shade)] == [(5, 2), (5, 1)]
        res = (await client.get(f"/v1/reservations/{res_id}")).json()
        assert [(x["held"], x["released"]) for x in res["lines"]] == [(2, 1), (1, 0)]
        assert res["status"] == "confirmed"


class TestReserveStockCommand:
    async def test_a_reserve_command_is_answered_once_even_when_sent_twice(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (lamp,) = await shelf(client, 5)
        order_id = str(uuid.uuid4())
        command = inv.ReserveStock(
            order_id=order_id,
            reservation_id=str(uuid.uuid4()),
            lines=[inv.RequestedLine(sku=lamp, quantity=2, location_code=code, line_id="l1")],
            ordered_at=NOW,
        )
        first = await deliver(container, command)
        again = await deliver(container, command)  # re-sent: a new event id
        assert first == again
        assert await on_hand_and_reserved(client, lamp) == (5, 2)
        res = (await client.get(f"/v1/reservations/{first}")).json()
        assert (res["status"], res["lines"][0]["line_id"]) == ("confirmed", "l1")
        assert len(await published(container, order_id, "reservation_confirmed")) == 1


class TestReturnReceived:
    async def test_units_to_restock_go_back_on_hand_once_per_receipt(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (lamp,) = await shelf(client, 1)
        receipt = unique("RCPT")
        event = return_received(
            str(uuid.uuid4()), code, receipt, [(lamp, 2, "resellable", "restock")]
        )
        await deliver(container, event)
        await deliver(container, event)  # delivered again under another event id
        assert await on_hand_and_reserved(client, lamp) == (3, 0)
        (entry, *_) = (await client.get(f"/v1/stock/{lamp}/movements")).json()["items"]
        assert (entry["reason"], entry["on_hand_delta"], entry["reference"]) == (
            "return_restocked",
            2,
            f"return-receipt:{receipt}",
        )
        next_receipt = return_received(
            event.order_id, code, unique("RCPT"), [(lamp, 1, "resellable", "restock")]
        )
        await deliver(container, next_receipt)
        assert await on_hand_and_reserved(client, lamp) == (4, 0)

    async def test_units_not_sent_to_restock_and_lines_without_a_sku_are_not_restocked(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (lamp, shade) = await shelf(client, 1, 1)
        event = return_received(
            str(uuid.uuid4()),
            code,
            unique("RCPT"),
            [
                (lamp, 2, "damaged", "write_off"),
                (shade, 1, "defective", "quarantine"),
                (None, 4, "resellable", "restock"),
                (lamp, 1, "resellable", "restock"),
            ],
        )
        await deliver(container, event)
        assert [await on_hand_and_reserved(client, s) for s in (lamp, shade)] == [(2, 0), (1, 0)]

    async def test_a_resellable_unit_the_policy_quarantines_is_not_put_on_sale(
        self, client: httpx.AsyncClient, container: ServiceContainer
    ) -> None:
        code, (lamp,) = await shelf(client, 1)
        event = return_received(
            str(uuid.uuid4()), code, unique("RCPT"), [(lamp, 2, "resellable", "quarantine")]
        )
        await deliver(container, event)
        assert await on_hand_and_reserved(client, lamp) == (1, 0)


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[ServiceContainer, FakeClock]]:
    # 1999: the job can only ever find this test's holds in the shared database.
    clock = FakeClock(datetime(1999, 6, 1, 12, tzinfo=UTC))
    container = bootstrap(clock=clock)
    async with taking_turns_with_the_expiry_job(container):
        yield container, clock
    await container.engine.dispose()


class TestExpiryJob:
    async def test_a_hold_is_released_at_its_expiry_and_not_before(
        self, clocked: tuple[ServiceContainer, FakeClock]
    ) -> None:
        container, clock = clocked
        job = expire_holds_job(
            bus=container.bus,
            session_factory=container.session_factory,
            clock=clock,
            interval_s=60,
        )
        async with client_for(container) as client:
            code, (lamp,) = await shelf(client, 5)
            hold = ReserveStock(
                order_id=new_id(),
                requests=(Request(lamp, 2, code),),
                expires_at=clock.now() + timedelta(minutes=10),
            )
            held = await container.bus.handle(hold)
            kept = await container.bus.handle(replace(hold, order_id=new_id()))
            await container.bus.handle(ConfirmReservation(reservation_id=kept))

            clock.advance(timedelta(minutes=10) - timedelta(microseconds=1))
            await job.run_once()  # one batch, as the periodic job runs it
            assert await on_hand_and_reserved(client, lamp) == (5, 4)

            clock.advance(timedelta(microseconds=1))
            await job.run_once()
            assert await on_hand_and_reserved(client, lamp) == (5, 2)
            statuses = [
                (await client.get(f"/v1/reservations/{r}")).json()["status"] for r in (held, kept)
            ]
            assert statuses == ["expired", "confirmed"]
            order_id = (await client.get(f"/v1/reservations/{held}")).json()["order_id"]
            (released,) = await published(container, order_id, "reservation_released")
            assert released["data"]["reason"] == "expired"
            assert released["data"]["lines"][0]["held"] == 2

    async def test_two_processes_expiring_at_once_release_each_hold_once(
        self, clocked: tuple[ServiceContainer, FakeClock]
    ) -> None:
        container, clock = clocked
        # Each process runs the job with no claim: both find the same holds due.
        jobs = [
            expire_holds_job(
                bus=container.bus,
                session_factory=container.session_factory,
                clock=clock,
                interval_s=60,
            )
            for _ in range(2)
        ]
        async with client_for(container) as client:
            code, (lamp,) = await shelf(client, 10)
            holds = [
                await container.bus.handle(
                    ReserveStock(
                        order_id=new_id(),
                        requests=(Request(lamp, 1, code),),
                        expires_at=clock.now() + timedelta(minutes=10),
                    )
                )
                for _ in range(8)
            ]
            clock.advance(timedelta(minutes=10))

            await asyncio.gather(*(job.run_once() for job in jobs))

            assert await on_hand_and_reserved(client, lamp) == (10, 0)
            for hold in holds:
                order_id = (await client.get(f"/v1/reservations/{hold}")).json()["order_id"]
                (released,) = await published(container, order_id, "reservation_released")
                assert released["data"]["lines"][0]["held"] == 1
