"""Inventory's handlers on the in-memory unit of work (fakes.py): receiving stock, reserving,
releasing, committing and incoming deliveries, with the domain events each records and
every event mapped to the published language. No database, no broker: milliseconds."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from libs.contracts.base import IntegrationEvent
from services.inventory.domain import commands, events
from services.inventory.domain.allocation import Request
from services.inventory.domain.errors import (
    InboundNotFound,
    LocationExists,
    LocationNotFound,
    NotEnoughOnHand,
    ReservationNotFound,
)
from services.inventory.domain.locations import Address, Capability, Location, LocationType
from services.inventory.domain.reservation import LinePick, ReleaseReason, ReservationStatus
from services.inventory.domain.stock import Reason
from services.inventory.messaging.publications import translate
from services.inventory.service_layer.handlers import HANDLERS
from tests.inventory.unit.fakes import FakeUnitOfWork

E = TypeVar("E")


async def handle(uow: FakeUnitOfWork, cmd: object) -> Any:
    """What the bus does with one command: its handler, then the commit."""
    handler: Callable[[Any, FakeUnitOfWork], Awaitable[Any]] = HANDLERS[type(cmd)]
    async with uow:
        result = await handler(cmd, uow)
        await uow.commit()
    return result


def published(uow: FakeUnitOfWork, kind: type[E]) -> list[E]:
    return [e for e in uow.published if isinstance(e, kind)]


def on_hand(uow: FakeUnitOfWork, code: str, sku: str) -> tuple[int, int]:
    level = uow.stock.levels[(code, sku)]
    return level.on_hand, level.reserved


async def warehouse(uow: FakeUnitOfWork, code: str = "WH-1", **fields: Any) -> str:
    now = uow.clock.now()
    location = Location(
        code=code,
        name=f"warehouse {code}",
        type=LocationType.WAREHOUSE,
        address=Address(line1="Lagerstraße 1", city="Berlin", postal_code="10115", country="DE"),
        capabilities=frozenset({Capability.SHIP}),
        created_at=now,
        updated_at=now,
        **fields,
    )
    await handle(uow, commands.CreateLocation(location=location))
    return code


async def stocked(uow: FakeUnitOfWork, code: str, sku: str, units: int) -> None:
    await handle(uow, commands.SetStockLevel(location_code=code, sku=sku, on_hand=units))


def reserving(*lines: Request, **fields: Any) -> commands.ReserveStock:
    return commands.ReserveStock(
        order_id=uuid.uuid4(), reservation_id=uuid.uuid4(), requests=lines, **fields
    )


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


# --- locations and receiving stock --------------------------------------------------------


async def test_a_location_is_created_once_and_announced(uow: FakeUnitOfWork) -> None:
    await warehouse(uow, "WH-1")
    with pytest.raises(LocationExists):
        await warehouse(uow, "WH-1")
    (created,) = published(uow, events.LocationChanged)
    assert (created.location.code, created.change) == ("WH-1", "created")


async def test_counting_stock_moves_it_through_the_ledger_and_announces_the_row(
    uow: FakeUnitOfWork,
) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 10)
    await stocked(uow, code, "LAMP", 7)
    assert on_hand(uow, code, "LAMP") == (7, 0)
    assert [(r.movement.reason, r.movement.on_hand_delta) for r in uow.stock.ledger] == [
        (Reason.COUNTED, 10),
        (Reason.COUNTED, -3),
    ]
    changes = published(uow, events.StockChanged)
    assert [(c.on_hand, c.available, c.network_available) for c in changes] == [
        (10, 10, 10),
        (7, 7, 7),
    ]


async def test_stock_at_an_unknown_location_is_refused(uow: FakeUnitOfWork) -> None:
    with pytest.raises(LocationNotFound):
        await stocked(uow, "NOWHERE", "LAMP", 1)
    assert uow.stock.levels == {}


async def test_an_adjustment_replayed_under_its_key_counts_once(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    adjust = commands.AdjustStock(
        location_code=code,
        sku="LAMP",
        delta=4,
        reason=Reason.RECEIVED,
        idempotency_key="k-1",
        fingerprint="body-1",
    )
    first = await handle(uow, adjust)
    again = await handle(uow, adjust)
    assert first == again
    assert on_hand(uow, code, "LAMP") == (4, 0)


async def test_removing_more_than_is_on_hand_is_refused(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 2)
    with pytest.raises(NotEnoughOnHand):
        await handle(
            uow,
            commands.AdjustStock(location_code=code, sku="LAMP", delta=-3, reason=Reason.LOST),
        )
    assert on_hand(uow, code, "LAMP") == (2, 0)


async def test_a_crossed_low_stock_threshold_is_announced_once(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await handle(uow, commands.SetSkuPolicy(sku="LAMP", low_stock_threshold=3))
    await stocked(uow, code, "LAMP", 10)
    await stocked(uow, code, "LAMP", 2)
    await stocked(uow, code, "LAMP", 1)
    assert published(uow, events.LowStock) == [events.LowStock("LAMP", 2, 3)]


async def test_a_restocked_return_goes_on_hand_once_per_receipt(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    restock = commands.RestockReturn(
        order_id=uuid.uuid4(), receipt_id="r-1", location_code=code, lines=(("LAMP", 2),)
    )
    await handle(uow, restock)
    await handle(uow, restock)
    assert on_hand(uow, code, "LAMP") == (2, 0)


# --- reserving, releasing, committing -----------------------------------------------------


async def test_a_reservation_naming_its_location_holds_every_line(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 5)
    cmd = reserving(Request("LAMP", 2, code, "line-1"))
    assert await handle(uow, cmd) == cmd.reservation_id
    assert on_hand(uow, code, "LAMP") == (5, 2)
    (confirmed,) = published(uow, events.ReservationConfirmed)
    assert confirmed.reservation_id == cmd.reservation_id
    assert [(ln.sku, ln.held, ln.order_line_id) for ln in confirmed.lines] == [
        ("LAMP", 2, "line-1")
    ]
    assert published(uow, events.StockChanged)[-1].reasons == ("reserved",)


async def test_a_short_reservation_is_rejected_and_holds_nothing(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 5)
    await stocked(uow, code, "DESK", 1)
    rid = await handle(uow, reserving(Request("LAMP", 2, code), Request("DESK", 3, code)))
    assert on_hand(uow, code, "LAMP") == (5, 0)
    assert on_hand(uow, code, "DESK") == (1, 0)
    assert uow.reservations.rows[rid].rejected
    (rejected,) = published(uow, events.ReservationRejected)
    assert [(s.sku, s.requested, s.available) for s in rejected.short] == [("DESK", 3, 1)]
    assert not published(uow, events.ReservationConfirmed)


async def test_a_line_naming_no_location_goes_where_most_is_available(
    uow: FakeUnitOfWork,
) -> None:
    small, big = await warehouse(uow, "WH-A"), await warehouse(uow, "WH-B")
    await stocked(uow, small, "LAMP", 2)
    await stocked(uow, big, "LAMP", 9)
    await handle(uow, reserving(Request("LAMP", 2)))
    assert on_hand(uow, small, "LAMP") == (2, 0)
    assert on_hand(uow, big, "LAMP") == (9, 2)


async def test_releasing_gives_the_units_back(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 5)
    cmd = reserving(Request("LAMP", 3, code))
    rid = await handle(uow, cmd)
    await handle(
        uow,
        commands.ReleaseReservation(reservation_id=rid, picks=(LinePick("LAMP", 1),)),
    )
    assert on_hand(uow, code, "LAMP") == (5, 2)
    await handle(uow, commands.ReleaseReservation(reservation_id=rid))
    assert on_hand(uow, code, "LAMP") == (5, 0)
    assert uow.reservations.rows[rid].status is ReservationStatus.RELEASED
    released = published(uow, events.ReservationReleased)
    assert [(r.reason, r.remaining_open, [c.held for c in r.changes]) for r in released] == [
        ("released", 2, [1]),
        ("released", 0, [2]),
    ]


async def test_releasing_an_unknown_reservation_is_not_found(uow: FakeUnitOfWork) -> None:
    with pytest.raises(ReservationNotFound):
        await handle(uow, commands.ReleaseReservation(reservation_id=uuid.uuid4()))


async def test_a_cancelled_order_releases_its_reservations(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 5)
    cmd = reserving(Request("LAMP", 3, code))
    await handle(uow, cmd)
    await handle(uow, commands.ReleaseOrder(order_id=cmd.order_id, picks=None))
    assert on_hand(uow, code, "LAMP") == (5, 0)
    (released,) = published(uow, events.ReservationReleased)
    assert released.reason == ReleaseReason.CANCELLED.value


async def test_committing_ships_the_held_units(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 5)
    rid = await handle(uow, reserving(Request("LAMP", 3, code)))
    await handle(uow, commands.CommitReservation(reservation_id=rid, shipment_id="s-1"))
    assert on_hand(uow, code, "LAMP") == (2, 0)
    assert uow.reservations.rows[rid].status is ReservationStatus.COMMITTED
    (committed,) = published(uow, events.StockCommitted)
    assert (committed.shipment_id, [c.held for c in committed.changes]) == ("s-1", [3])


async def test_a_temporary_hold_expires_only_when_due(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 5)
    expires_at = uow.clock.now() + timedelta(minutes=15)
    rid = await handle(uow, reserving(Request("LAMP", 2, code), expires_at=expires_at))
    await handle(uow, commands.ExpireReservation(reservation_id=rid))
    assert on_hand(uow, code, "LAMP") == (5, 2)
    uow.clock.advance(timedelta(minutes=15))
    await handle(uow, commands.ExpireReservation(reservation_id=rid))
    assert on_hand(uow, code, "LAMP") == (5, 0)
    assert uow.reservations.rows[rid].status is ReservationStatus.EXPIRED
    (expired,) = published(uow, events.ReservationReleased)
    assert expired.reason == "expired"


# --- incoming deliveries and backorders ---------------------------------------------------


async def test_an_announced_delivery_is_incoming_until_received(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    expected_at = uow.clock.now() + timedelta(days=3)
    inbound_id = await handle(
        uow,
        commands.CreateInbound(
            location_code=code, sku="LAMP", quantity=10, expected_at=expected_at
        ),
    )
    await handle(uow, commands.ReceiveInbound(inbound_id=inbound_id, quantity=4))
    assert on_hand(uow, code, "LAMP") == (4, 0)
    incoming = published(uow, events.IncomingChanged)
    assert [(i.reason, [d.quantity for d in i.deliveries]) for i in incoming] == [
        ("inbound_created", [10]),
        ("inbound_received", [6]),
    ]
    await handle(uow, commands.ReceiveInbound(inbound_id=inbound_id))
    assert on_hand(uow, code, "LAMP") == (10, 0)
    assert published(uow, events.IncomingChanged)[-1].deliveries == ()


async def test_receiving_an_unknown_delivery_is_not_found(uow: FakeUnitOfWork) -> None:
    with pytest.raises(InboundNotFound):
        await handle(uow, commands.ReceiveInbound(inbound_id=uuid.uuid4()))


async def test_received_stock_serves_the_waiting_backorder_first(uow: FakeUnitOfWork) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 1)
    expected_at = uow.clock.now() + timedelta(days=3)
    inbound_id = await handle(
        uow,
        commands.CreateInbound(location_code=code, sku="LAMP", quantity=5, expected_at=expected_at),
    )
    rid = await handle(uow, reserving(Request("LAMP", 3, code), allow_backorder=True))
    held = uow.reservations.rows[rid].lines[0]
    assert (held.held, held.backordered, held.expected_at) == (1, 2, expected_at)

    await handle(uow, commands.ReceiveInbound(inbound_id=inbound_id))
    line = uow.reservations.rows[rid].lines[0]
    assert (line.held, line.backordered) == (3, 0)
    assert on_hand(uow, code, "LAMP") == (6, 3)
    (allocated,) = published(uow, events.BackorderAllocated)
    assert (allocated.reservation_id, allocated.still_backordered) == (rid, 0)
    assert [(ln.location_code, ln.sku, ln.quantity) for ln in allocated.lines] == [
        (code, "LAMP", 2)
    ]


async def test_a_cancelled_delivery_lapses_the_backorders_it_promised(
    uow: FakeUnitOfWork,
) -> None:
    code = await warehouse(uow)
    await stocked(uow, code, "LAMP", 0)
    expected_at = uow.clock.now() + timedelta(days=3)
    inbound_id = await handle(
        uow,
        commands.CreateInbound(location_code=code, sku="LAMP", quantity=5, expected_at=expected_at),
    )
    rid = await handle(uow, reserving(Request("LAMP", 2, code), allow_backorder=True))
    await handle(uow, commands.CancelInbound(inbound_id=inbound_id))
    (repromised,) = published(uow, events.BackorderRepromised)
    assert (repromised.reservation_id, repromised.reason) == (rid, "inbound_cancelled")
    assert [(ln.lapsed, ln.expected_at) for ln in repromised.lines] == [(2, None)]


async def test_every_recorded_event_has_its_published_form(uow: FakeUnitOfWork) -> None:
    """The one event path: each domain event a handler records maps to an integration event
    (messaging.publications.translate) of the type its name says."""
    code = await warehouse(uow)
    await handle(uow, commands.SetSkuPolicy(sku="LAMP", low_stock_threshold=2))
    await stocked(uow, code, "LAMP", 5)
    expected_at = uow.clock.now() + timedelta(days=1)
    inbound_id = await handle(
        uow,
        commands.CreateInbound(location_code=code, sku="LAMP", quantity=4, expected_at=expected_at),
    )
    rid = await handle(uow, reserving(Request("LAMP", 7, code), allow_backorder=True))
    await handle(uow, commands.ReceiveInbound(inbound_id=inbound_id))
    await handle(uow, commands.CommitReservation(reservation_id=rid))
    mapped: list[IntegrationEvent] = [translate(e) for e in uow.published]
    assert [type(m).__name__ for m in mapped] == [type(e).__name__ for e in uow.published]
    assert {type(e).__name__ for e in uow.published} >= {
        "LocationChanged",
        "StockChanged",
        "IncomingChanged",
        "ReservationConfirmed",
        "BackorderAllocated",
        "StockCommitted",
        "LowStock",
        "BackInStock",
    }
