"""The use cases of order-capture through their handlers, on the unit of work in memory
(fakes.py): what each stores, publishes and adds to the timeline, and what it refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from libs.contracts import order as contract
from libs.errors import IdempotencyKeyReused
from services.order_capture.domain import commands
from services.order_capture.domain.errors import (
    SELF_SERVICE_NOT_FOUND,
    DuplicateChannelOrder,
    DuplicateSku,
    OrderNotCancellable,
    OrderNotEditable,
    OrderNotFound,
    VersionMismatch,
)
from services.order_capture.domain.model import Order
from services.order_capture.domain.status import OrderStatus
from services.order_capture.domain.values import (
    Address,
    Channel,
    Customer,
    Delivery,
    DeliveryMethod,
    OrderChanges,
    Payment,
    Priority,
    ServiceLevel,
)
from tests.order_capture.unit.fakes import FakeStore, FixedClock, handle

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
ADDRESS = Address(
    name="Ada Lovelace", line1="Hauptstr. 1", city="Berlin", postal_code="10115", country="DE"
)
NEW_ADDRESS = replace(ADDRESS, line1="Friedrichstr. 100", postal_code="10117")


def place_command(**overrides: Any) -> commands.PlaceOrder:
    """Two lines (2 x 10.00 and 1 x 5.00) and 5.00 shipping: 30.00 paid by card."""
    cmd = commands.PlaceOrder(
        channel=Channel.WEB,
        channel_order_ref="W-1",
        currency="EUR",
        customer=Customer(email="ada@example.com", name="Ada Lovelace"),
        shipping_address=ADDRESS,
        delivery=Delivery(DeliveryMethod.SHIP, ServiceLevel.STANDARD),
        lines=(
            commands.NewLine(sku="LAMP-1", quantity=2, unit_price=Decimal("10.00")),
            commands.NewLine(sku="BULB-9", quantity=1, unit_price=Decimal("5.00")),
        ),
        shipping_amount=Decimal("5.00"),
        payment=Payment(method="card", amount=Decimal("30.00"), token="tok_test"),
    )
    return replace(cmd, **overrides)


def report(cls: type[commands.Report], order_id: UUID, key: str, **fields: Any) -> Any:
    return cls(order_id=order_id, fact_key=key, source="inventory", at=LATER, reason=key, **fields)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def place(store: FakeStore, clock: FixedClock, **overrides: Any) -> Order:
    order_id = await handle(store, clock, place_command(**overrides))
    return store.orders[order_id]


def lines_of(order: Order) -> dict[str, UUID]:
    return {line.sku: line.id for line in order.lines}


class TestPlaceOrder:
    async def test_stores_a_pending_order_and_announces_it_once(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        assert order.order_number == "OMS-00000001"
        assert order.status is OrderStatus.PENDING
        assert order.totals.grand_total == Decimal("30.00")
        assert store.published_types() == ["oms.order.placed"]
        placed = store.published[0]
        assert isinstance(placed, contract.OrderPlaced)
        assert (placed.order_id, placed.sequence) == (str(order.id), 1)
        assert [ln.sku for ln in placed.lines] == ["LAMP-1", "BULB-9"]
        [entry] = store.timeline[order.id]
        assert (entry.kind, entry.status, entry.event_sequence) == ("placed", "pending", 1)
        assert entry.reason == "placed on web"

    async def test_a_replayed_idempotency_key_answers_with_the_first_order(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        cmd = place_command(idempotency_key="k-1", request_fingerprint="body-1")
        first = await handle(store, clock, cmd)
        again = await handle(store, clock, cmd)
        assert again == first
        assert list(store.orders) == [first]
        assert store.published_types() == ["oms.order.placed"]

    async def test_the_same_key_with_another_body_is_refused(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        await handle(store, clock, place_command(idempotency_key="k-1", request_fingerprint="a"))
        with pytest.raises(IdempotencyKeyReused):
            await handle(
                store,
                clock,
                place_command(
                    channel_order_ref="W-2", idempotency_key="k-1", request_fingerprint="b"
                ),
            )
        assert len(store.orders) == 1

    async def test_a_channel_reference_placed_before_names_the_first_order(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        first = await place(store, clock)
        with pytest.raises(DuplicateChannelOrder) as refused:
            await handle(store, clock, place_command())
        assert refused.value.extra == {"existing_order_id": str(first.id)}
        assert await place(store, clock, channel=Channel.POS) != first  # another channel's ref
        assert store.published_types() == ["oms.order.placed", "oms.order.placed"]

    async def test_an_invalid_order_stores_and_publishes_nothing(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        same_sku = commands.NewLine(sku="LAMP-1", quantity=1, unit_price=Decimal("5.00"))
        with pytest.raises(DuplicateSku):
            await handle(store, clock, place_command(lines=(same_sku, same_sku)))
        assert (store.orders, store.published, store.timeline) == ({}, [], {})


class TestEditOrder:
    async def test_an_address_change_is_published_for_replanning(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        clock.at = LATER
        cmd = commands.EditOrder(
            order_id=order.id,
            expected_version=1,
            changes=OrderChanges(shipping_address=NEW_ADDRESS),
        )
        await handle(store, clock, cmd)
        edited = store.orders[order.id]
        assert (edited.shipping_address, edited.version, edited.updated_at) == (
            NEW_ADDRESS,
            2,
            LATER,
        )
        updated = store.published[-1]
        assert isinstance(updated, contract.OrderUpdated)
        assert (updated.sequence, updated.changed_fields) == (2, ["shipping_address"])
        assert updated.replan_required is True
        assert updated.shipping_address.line1 == "Friedrichstr. 100"
        entry = store.timeline[order.id][-1]
        assert (entry.kind, entry.details) == ("updated", {"changed_fields": ["shipping_address"]})

    async def test_a_stale_version_changes_nothing(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        cmd = commands.EditOrder(
            order_id=order.id, expected_version=7, changes=OrderChanges(notes="ring twice")
        )
        with pytest.raises(VersionMismatch):
            await handle(store, clock, cmd)
        assert store.orders[order.id].notes is None
        assert store.published_types() == ["oms.order.placed"]

    async def test_nothing_changed_saves_and_publishes_nothing(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        cmd = commands.EditOrder(
            order_id=order.id, expected_version=1, changes=OrderChanges(shipping_address=ADDRESS)
        )
        assert await handle(store, clock, cmd) == order.id
        assert store.orders[order.id].version == 1
        assert store.published_types() == ["oms.order.placed"]

    async def test_an_unknown_order_is_not_found(self, store: FakeStore, clock: FixedClock) -> None:
        cmd = commands.EditOrder(
            order_id=UUID(int=404), expected_version=1, changes=OrderChanges(notes="x")
        )
        with pytest.raises(OrderNotFound):
            await handle(store, clock, cmd)


class TestChangePriority:
    async def test_expediting_is_published_and_on_the_timeline(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        clock.at = LATER
        cmd = commands.ChangePriority(order.id, Priority.HIGH, reason="VIP customer")
        await handle(store, clock, cmd)
        assert (store.orders[order.id].priority, store.orders[order.id].version) == (
            Priority.HIGH,
            2,
        )
        changed = store.published[-1]
        assert isinstance(changed, contract.OrderPriorityChanged)
        assert (changed.sequence, changed.priority, changed.previous_priority) == (
            2,
            "high",
            "normal",
        )
        assert (changed.reason, changed.changed_at) == ("VIP customer", LATER)
        entry = store.timeline[order.id][-1]
        assert (entry.kind, entry.details, entry.event_sequence) == (
            "priority_changed",
            {"priority": "high"},
            2,
        )

    async def test_the_same_priority_again_changes_nothing(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        await handle(store, clock, commands.ChangePriority(order.id, Priority.HIGH))
        await handle(store, clock, commands.ChangePriority(order.id, Priority.HIGH))
        assert store.published_types() == ["oms.order.placed", "oms.order.priority_changed"]
        assert store.orders[order.id].version == 2

    async def test_a_cancelled_order_keeps_its_priority(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        await handle(
            store,
            clock,
            commands.CancelOrder(order_id=order.id, reason="gone", requested_by="channel"),
        )
        with pytest.raises(OrderNotEditable):
            await handle(store, clock, commands.ChangePriority(order.id, Priority.HIGH))
        assert store.orders[order.id].priority is Priority.NORMAL
        assert "oms.order.priority_changed" not in store.published_types()


class TestCancelOrder:
    async def test_a_partial_cancel_requests_just_those_units(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        lamp = lines_of(order)["LAMP-1"]
        cmd = commands.CancelOrder(
            order_id=order.id, reason="changed mind", requested_by="channel", quantities={lamp: 1}
        )
        await handle(store, clock, cmd)
        cancelled = store.orders[order.id]
        assert [ln.quantities.cancelled for ln in cancelled.lines] == [1, 0]
        assert cancelled.status is OrderStatus.PENDING
        assert store.published_types() == ["oms.order.placed", "oms.order.cancellation_requested"]
        requested = store.published[-1]
        assert isinstance(requested, contract.OrderCancellationRequested)
        assert [(ln.sku, ln.quantity) for ln in requested.lines] == [("LAMP-1", 1)]
        assert requested.whole_order is False
        entry = store.timeline[order.id][-1]
        assert entry.kind == "cancellation_requested"
        assert entry.details["requested_by"] == "channel"
        assert entry.details["lines"] == [{"line_id": str(lamp), "quantity": 1}]

    async def test_a_full_cancel_cancels_the_order_and_repeating_it_is_harmless(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        cmd = commands.CancelOrder(order_id=order.id, reason="fraud", requested_by="agent")
        await handle(store, clock, cmd)
        await handle(store, clock, cmd)
        assert store.orders[order.id].status is OrderStatus.CANCELLED
        assert store.published_types() == [
            "oms.order.placed",
            "oms.order.cancellation_requested",
            "oms.order.status_changed",
            "oms.order.cancelled",
        ]
        assert [getattr(e, "sequence", None) for e in store.published] == [1, 2, 3, 4]
        assert [e.kind for e in store.timeline[order.id]] == [
            "placed",
            "cancellation_requested",
            "status_changed",
            "cancelled",
        ]

    async def test_a_retried_partial_cancel_with_its_key_applies_once(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        cmd = commands.CancelOrder(
            order_id=order.id,
            reason="one lamp less",
            requested_by="channel",
            quantities={lines_of(order)["LAMP-1"]: 1},
            idempotency_key="cancel-1",
            request_fingerprint="body",
        )
        await handle(store, clock, cmd)
        await handle(store, clock, cmd)
        assert store.orders[order.id].lines[0].quantities.cancelled == 1
        assert store.published_types().count("oms.order.cancellation_requested") == 1


class TestCancelOwnOrder:
    async def test_the_customer_cancels_with_the_orders_email(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        cmd = commands.CancelOwnOrder(
            order_number=order.order_number, email="ada@example.com", reason="ordered twice"
        )
        await handle(store, clock, cmd)
        assert store.orders[order.id].status is OrderStatus.CANCELLED
        requested = store.published[1]
        assert isinstance(requested, contract.OrderCancellationRequested)
        assert (requested.requested_by, requested.whole_order) == ("customer", True)

    async def test_a_wrong_email_is_answered_like_an_unknown_number(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        for number, email in ((order.order_number, "eve@example.com"), ("OMS-0", "ada@x.com")):
            cmd = commands.CancelOwnOrder(order_number=number, email=email, reason="x")
            with pytest.raises(OrderNotFound) as refused:
                await handle(store, clock, cmd)
            assert refused.value.detail == SELF_SERVICE_NOT_FOUND
        assert store.orders[order.id].status is OrderStatus.PENDING

    async def test_once_something_shipped_the_customer_cannot_cancel(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        lamp = lines_of(order)["LAMP-1"]
        await handle(
            store,
            clock,
            report(commands.RecordShipment, order.id, "shipment:1", quantities={lamp: 1}),
        )
        cmd = commands.CancelOwnOrder(
            order_number=order.order_number, email="ada@example.com", reason="too late"
        )
        with pytest.raises(OrderNotCancellable):
            await handle(store, clock, cmd)
        assert store.orders[order.id].status is OrderStatus.PARTIALLY_SHIPPED


class TestReports:
    async def test_a_reservation_confirms_the_order_and_its_fact_is_timeline_only(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        reserved = report(
            commands.RecordStockReserved,
            order.id,
            "reservation:1",
            quantities_by_sku={"LAMP-1": 2, "BULB-9": 1},
        )
        await handle(store, clock, reserved)
        await handle(store, clock, reserved)  # the same fact again: applied once
        confirmed = store.orders[order.id]
        assert (confirmed.status, confirmed.version) == (OrderStatus.CONFIRMED, 2)
        assert store.published_types() == ["oms.order.placed", "oms.order.status_changed"]
        changed = store.published[-1]
        assert isinstance(changed, contract.OrderStatusChanged)
        assert (changed.previous_status, changed.status, changed.source) == (
            "pending",
            "confirmed",
            "inventory",
        )
        fact, status = store.timeline[order.id][1:]
        assert (fact.kind, fact.source) == ("stock_reserved", "inventory")
        assert fact.event_sequence is None  # published by inventory, not here
        assert (status.kind, status.event_sequence) == ("status_changed", 2)
        assert (status.previous_status, status.status) == ("pending", "confirmed")

    async def test_a_late_shortage_never_moves_a_shipped_order_back(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        order = await place(store, clock)
        everything = {line.id: line.quantity for line in order.lines}
        await handle(
            store,
            clock,
            report(commands.RecordShipment, order.id, "shipment:1", quantities=everything),
        )
        await handle(
            store,
            clock,
            report(commands.RecordStockShortage, order.id, "rejected:late", skus=("LAMP-1",)),
        )
        shipped = store.orders[order.id]
        assert shipped.status is OrderStatus.SHIPPED
        assert shipped.lines[0].quantities.backordered == 0

    async def test_a_reservation_for_an_order_never_placed_here_is_ignored(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        stranger = UUID(int=77)
        await handle(
            store,
            clock,
            report(commands.RecordStockReserved, stranger, "r:1", quantities_by_sku={"X": 1}),
        )
        assert (store.orders, store.published) == ({}, [])

    async def test_any_other_report_about_an_unknown_order_fails(
        self, store: FakeStore, clock: FixedClock
    ) -> None:
        with pytest.raises(OrderNotFound):
            await handle(store, clock, report(commands.RecordShipment, UUID(int=78), "s:1"))
