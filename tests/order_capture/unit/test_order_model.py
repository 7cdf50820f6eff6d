"""The order aggregate: placing, editing, cancelling and the reports of the other services."""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from services.order_capture.domain import commands, events
from services.order_capture.domain.calendar import next_business_day
from services.order_capture.domain.errors import (
    AmountPrecision,
    CancelQuantityTooLarge,
    DeliveryDateInPast,
    DeliveryDateUnreachable,
    DiscountExceedsLine,
    DuplicateSku,
    OrderNotCancellable,
    OrderNotEditable,
    PaymentAmountMismatch,
    PickupLocationRequired,
    TotalMismatch,
    UnknownLine,
    VersionMismatch,
)
from services.order_capture.domain.model import Order
from services.order_capture.domain.status import OrderStatus
from services.order_capture.domain.totals import Totals
from services.order_capture.domain.values import (
    Address,
    Channel,
    Customer,
    Delivery,
    DeliveryMethod,
    OrderChanges,
    Payment,
    ServiceLevel,
    Shipment,
)

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
ORDER_ID = UUID(int=1)
UNKNOWN_LINE = UUID(int=999)
SHIP_STANDARD = Delivery(DeliveryMethod.SHIP, ServiceLevel.STANDARD)
ADDRESS = Address(
    name="Ada Lovelace", line1="Hauptstr. 1", city="Berlin", postal_code="10115", country="DE"
)
# Line A: 2 x 19.99 - 5.00 + 6.65 = 41.63; line B: 1 x 10.00 + 1.90 = 11.90; shipping 4.95.
GRAND_TOTAL = Decimal("58.48")


def line(
    sku: str, quantity: int, price: str, discount: str = "0", tax: str = "0"
) -> commands.NewLine:
    return commands.NewLine(
        sku=sku,
        quantity=quantity,
        unit_price=Decimal(price),
        discount_amount=Decimal(discount),
        tax_amount=Decimal(tax),
    )


def valid_command(**overrides: Any) -> commands.PlaceOrder:
    cmd = commands.PlaceOrder(
        channel=Channel.WEB,
        channel_order_ref="W-1",
        currency="EUR",
        customer=Customer(email="ada@example.com", name="Ada Lovelace"),
        shipping_address=ADDRESS,
        delivery=SHIP_STANDARD,
        lines=(
            line("SKU-A", 2, "19.99", discount="5.00", tax="6.65"),
            line("SKU-B", 1, "10.00", tax="1.90"),
        ),
        shipping_amount=Decimal("4.95"),
        payment=Payment(method="card", amount=GRAND_TOTAL),
    )
    return replace(cmd, **overrides)


def place(cmd: commands.PlaceOrder | None = None) -> Order:
    cmd = cmd or valid_command()
    return Order.place(
        cmd,
        id=ORDER_ID,
        order_number="OMS-00001000",
        line_ids=[UUID(int=100 + i) for i in range(len(cmd.lines))],
        now=NOW,
    )


def line_id(order: Order, sku: str) -> UUID:
    return next(ln.id for ln in order.lines if ln.sku == sku)


def every_line(order: Order) -> dict[UUID, int]:
    """Every unit the customer still wants, as orchestration would report them."""
    return {ln.id: ln.quantities.open for ln in order.lines}


def report(order: Order, key: str, source: str) -> dict[str, Any]:
    return {"order_id": order.id, "fact_key": key, "source": source, "at": LATER, "reason": key}


def reserved(order: Order, key: str = "reserved-1") -> commands.RecordStockReserved:
    by_sku = {ln.sku: ln.quantity for ln in order.lines}
    return commands.RecordStockReserved(**report(order, key, "inventory"), quantities_by_sku=by_sku)


def allocated(order: Order, key: str = "allocated-1") -> commands.RecordAllocation:
    return commands.RecordAllocation(
        **report(order, key, "orchestration"), quantities=every_line(order)
    )


def shipped(
    order: Order, quantities: dict[UUID, int] | None = None, key: str = "shipped-1"
) -> commands.RecordShipment:
    return commands.RecordShipment(
        **report(order, key, "orchestration"),
        shipment_id="SHP-1",
        carrier="DHL",
        tracking_number="TRK-1",
        tracking_url="https://track.example/TRK-1",
        quantities=every_line(order) if quantities is None else quantities,
    )


def delivered(order: Order, key: str = "delivered-1") -> commands.RecordDelivery:
    return commands.RecordDelivery(
        **report(order, key, "orchestration"), shipment_id="SHP-1", quantities=every_line(order)
    )


def hold(order: Order, held: bool, key: str) -> commands.RecordHold:
    return commands.RecordHold(**report(order, key, "orchestration"), held=held)


def cancel_all(order: Order) -> bool:
    return order.cancel(
        quantities=None,
        reason="changed my mind",
        requested_by="customer",
        cancellation_id="C-1",
        now=LATER,
    )


def cancel_some(order: Order, quantities: dict[UUID, int]) -> bool:
    return order.cancel(
        quantities=quantities,
        reason="one too many",
        requested_by="support",
        cancellation_id="C-2",
        now=LATER,
    )


def ship_everything(order: Order) -> Order:
    order.record_stock_reserved(reserved(order), now=LATER)
    order.record_allocation(allocated(order), now=LATER)
    order.record_shipment(shipped(order), now=LATER)
    return order


def kinds(evts: list[events.OrderEvent]) -> list[type[events.DomainEvent]]:
    return [type(e) for e in evts]


class TestPlace:
    def test_computes_totals_from_the_lines(self) -> None:
        order = place()
        assert order.totals == Totals(
            subtotal=Decimal("49.98"),
            discount_total=Decimal("5.00"),
            tax_total=Decimal("8.55"),
            shipping_amount=Decimal("4.95"),
            grand_total=GRAND_TOTAL,
        )
        assert [ln.line_total for ln in order.lines] == [Decimal("41.63"), Decimal("11.90")]

    def test_starts_pending_at_version_1_with_an_order_placed_event(self) -> None:
        order = place()
        assert order.status is OrderStatus.PENDING
        assert order.version == 1
        assert kinds(order.events) == [events.OrderPlaced]
        placed = order.events[0]
        assert (placed.sequence, placed.at, placed.source) == (1, NOW, events.ORDER_CAPTURE)
        assert order.event_sequence == 1

    def test_keeps_the_command_lines_under_the_given_ids(self) -> None:
        order = place()
        assert [(ln.id, ln.sku, ln.quantity) for ln in order.lines] == [
            (UUID(int=100), "SKU-A", 2),
            (UUID(int=101), "SKU-B", 1),
        ]

    def test_refuses_the_same_sku_on_two_lines(self) -> None:
        lines = (line("SKU-A", 1, "1.00"), line("SKU-B", 1, "1.00"), line("SKU-A", 1, "1.00"))
        with pytest.raises(DuplicateSku) as err:
            place(valid_command(lines=lines, shipping_amount=Decimal("0")))
        assert err.value.extra == {"skus": ["SKU-A"]}

    def test_pickup_needs_a_pickup_location(self) -> None:
        delivery = Delivery(DeliveryMethod.PICKUP, ServiceLevel.STANDARD)
        with pytest.raises(PickupLocationRequired):
            place(valid_command(delivery=delivery))

    def test_shipping_must_not_name_a_pickup_location(self) -> None:
        delivery = Delivery(DeliveryMethod.SHIP, ServiceLevel.STANDARD, "STORE-7")
        with pytest.raises(PickupLocationRequired):
            place(valid_command(delivery=delivery))

    def test_pickup_with_a_location_is_accepted(self) -> None:
        delivery = Delivery(DeliveryMethod.PICKUP, ServiceLevel.STANDARD, "STORE-7")
        assert place(valid_command(delivery=delivery)).delivery == delivery

    def test_refuses_a_requested_delivery_date_in_the_past(self) -> None:
        with pytest.raises(DeliveryDateInPast):
            place(valid_command(requested_delivery_date=NOW.date() - timedelta(days=1)))

    def test_a_pickup_order_may_request_today(self) -> None:
        pickup = Delivery(DeliveryMethod.PICKUP, ServiceLevel.STANDARD, "STORE-7")
        order = place(valid_command(delivery=pickup, requested_delivery_date=NOW.date()))
        assert order.requested_delivery_date == NOW.date()

    def test_a_shipped_order_may_request_the_next_business_day(self) -> None:
        # NOW is a Sunday: Monday is the first day a carrier delivers.
        monday = date(2026, 11, 23)
        assert place(valid_command(requested_delivery_date=monday)).requested_delivery_date == (
            monday
        )

    def test_refuses_a_shipped_order_requested_for_today(self) -> None:
        with pytest.raises(DeliveryDateUnreachable) as err:
            place(valid_command(requested_delivery_date=NOW.date()))
        assert err.value.extra == {
            "field": "requested_delivery_date",
            "earliest_delivery_date": "2026-11-23",
        }
        assert "2026-11-23 at the earliest" in err.value.detail

    def test_a_past_date_is_in_the_past_whatever_the_delivery(self) -> None:
        pickup = Delivery(DeliveryMethod.PICKUP, ServiceLevel.STANDARD, "STORE-7")
        yesterday = NOW.date() - timedelta(days=1)
        for delivery in (SHIP_STANDARD, pickup):
            with pytest.raises(DeliveryDateInPast):
                place(valid_command(delivery=delivery, requested_delivery_date=yesterday))

    @pytest.mark.parametrize(
        ("today", "earliest"),
        [
            (date(2026, 11, 23), date(2026, 11, 24)),  # Monday: Tuesday
            (date(2026, 11, 26), date(2026, 11, 27)),  # Thursday: Friday
            (date(2026, 11, 27), date(2026, 11, 30)),  # Friday: Monday
            (date(2026, 11, 28), date(2026, 11, 30)),  # Saturday: Monday
            (date(2026, 11, 29), date(2026, 11, 30)),  # Sunday: Monday
        ],
    )
    def test_the_earliest_delivery_is_the_next_business_day(
        self, today: date, earliest: date
    ) -> None:
        assert next_business_day(today) == earliest

    def test_refuses_a_discount_larger_than_price_times_quantity(self) -> None:
        lines = (line("SKU-A", 2, "19.99", discount="39.99"),)
        with pytest.raises(DiscountExceedsLine) as err:
            place(valid_command(lines=lines))
        assert err.value.extra == {"field": "lines.0.discount_amount"}

    def test_accepts_a_discount_of_the_whole_line(self) -> None:
        lines = (line("SKU-A", 2, "19.99", discount="39.98"),)
        payment = Payment(method="card", amount=Decimal("4.95"))
        order = place(valid_command(lines=lines, payment=payment))
        assert order.totals.grand_total == Decimal("4.95")

    def test_refuses_more_decimals_than_the_currency_has(self) -> None:
        cmd = valid_command(
            currency="JPY",
            lines=(line("SKU-A", 1, "1.5"),),
            shipping_amount=Decimal("0"),
            payment=Payment(method="card", amount=Decimal("1.5")),
        )
        with pytest.raises(AmountPrecision) as err:
            place(cmd)
        assert err.value.extra == {"fields": ["lines.0.unit_price", "payment.amount"]}

    def test_accepts_whole_amounts_in_a_currency_without_minor_units(self) -> None:
        cmd = valid_command(
            currency="JPY",
            lines=(line("SKU-A", 2, "1500"),),
            shipping_amount=Decimal("500"),
            payment=Payment(method="card", amount=Decimal("3500")),
        )
        assert place(cmd).totals.grand_total == Decimal("3500")

    def test_refuses_claimed_totals_that_differ_from_the_computed_ones(self) -> None:
        claimed = {"subtotal": Decimal("49.98"), "grand_total": Decimal("60.00")}
        with pytest.raises(TotalMismatch) as err:
            place(valid_command(claimed_totals=claimed))
        assert err.value.extra == {
            "mismatches": {"grand_total": {"sent": "60.00", "computed": "58.48"}}
        }

    def test_accepts_claimed_totals_that_match(self) -> None:
        claimed = {
            "subtotal": Decimal("49.98"),
            "discount_total": Decimal("5"),
            "tax_total": Decimal("8.55"),
            "shipping_amount": Decimal("4.95"),
            "grand_total": GRAND_TOTAL,
        }
        assert place(valid_command(claimed_totals=claimed)).totals.grand_total == GRAND_TOTAL

    def test_refuses_a_payment_that_is_not_the_grand_total(self) -> None:
        payment = Payment(method="card", amount=Decimal("58.47"))
        with pytest.raises(PaymentAmountMismatch) as err:
            place(valid_command(payment=payment))
        assert err.value.extra == {"grand_total": "58.48"}


class TestEdit:
    def test_refuses_an_older_version(self) -> None:
        order = place()
        changes = OrderChanges(notes="ring twice")
        with pytest.raises(VersionMismatch) as err:
            order.edit(changes, expected_version=0, now=LATER)
        assert err.value.extra == {"current_version": 1}
        assert order.notes is None

    def test_an_edit_that_changes_nothing_returns_false_and_records_nothing(self) -> None:
        order = place()
        changes = OrderChanges(shipping_address=ADDRESS, delivery=SHIP_STANDARD)
        assert order.edit(changes, expected_version=1, now=LATER) is False
        assert order.edit(OrderChanges(), expected_version=1, now=LATER) is False
        assert order.version == 1
        assert kinds(order.events) == [events.OrderPlaced]

    def test_a_new_address_needs_a_replan_and_bumps_the_version(self) -> None:
        order = place()
        moved = replace(ADDRESS, line1="Unter den Linden 5")
        assert order.edit(OrderChanges(shipping_address=moved), expected_version=1, now=LATER)
        assert order.shipping_address == moved
        assert order.version == 2
        assert order.updated_at == LATER
        updated = order.events[-1]
        assert isinstance(updated, events.OrderUpdated)
        assert updated.changed_fields == ("shipping_address",)
        assert updated.replan_required is True
        assert updated.sequence == 2

    def test_a_contact_change_needs_no_replan(self) -> None:
        order = place()
        changes = OrderChanges(notes="ring twice")
        assert order.edit(changes, expected_version=1, now=LATER)
        updated = order.events[-1]
        assert isinstance(updated, events.OrderUpdated)
        assert updated.changed_fields == ("notes",)
        assert updated.replan_required is False

    def test_is_refused_once_something_shipped(self) -> None:
        order = place()
        order.record_shipment(shipped(order, {line_id(order, "SKU-B"): 1}), now=LATER)
        moved = replace(ADDRESS, line1="Unter den Linden 5")
        with pytest.raises(OrderNotEditable):
            order.edit(
                OrderChanges(shipping_address=moved), expected_version=order.version, now=LATER
            )
        assert order.shipping_address == ADDRESS


class TestCancel:
    def test_full_cancel_cancels_the_order(self) -> None:
        order = place()
        assert cancel_all(order) is True
        assert order.status is OrderStatus.CANCELLED
        new = order.events[1:]
        assert kinds(new) == [
            events.CancellationRequested,
            events.StatusChanged,
            events.OrderCancelled,
        ]
        assert [e.sequence for e in new] == [2, 3, 4]
        requested, changed = new[0], new[1]
        assert isinstance(requested, events.CancellationRequested)
        assert requested.quantities == ((str(UUID(int=100)), 2), (str(UUID(int=101)), 1))
        assert isinstance(changed, events.StatusChanged)
        assert (changed.previous_status, changed.status) == ("pending", "cancelled")

    def test_repeating_a_full_cancel_is_harmless(self) -> None:
        order = place()
        cancel_all(order)
        version, count = order.version, len(order.events)
        assert cancel_all(order) is False
        assert (order.version, len(order.events)) == (version, count)

    def test_partial_cancel_of_one_unit_keeps_the_status(self) -> None:
        order = place()
        a = line_id(order, "SKU-A")
        assert cancel_some(order, {a: 1}) is True
        assert order.status is OrderStatus.PENDING
        assert order.line(a).quantities.cancelled == 1
        assert kinds(order.events) == [events.OrderPlaced, events.CancellationRequested]

    def test_partial_cancel_of_more_than_is_unshipped_is_refused(self) -> None:
        order = place()
        b = line_id(order, "SKU-B")
        with pytest.raises(CancelQuantityTooLarge) as err:
            cancel_some(order, {b: 2})
        assert err.value.extra == {"line_id": str(b), "requested": 2, "cancellable": 1}
        assert order.line(b).quantities.cancelled == 0

    def test_partial_cancel_of_an_unknown_line_is_refused(self) -> None:
        order = place()
        with pytest.raises(UnknownLine):
            cancel_some(order, {UNKNOWN_LINE: 1})

    def test_full_cancel_after_everything_shipped_is_refused(self) -> None:
        order = ship_everything(place())
        with pytest.raises(OrderNotCancellable):
            cancel_all(order)
        assert order.status is OrderStatus.SHIPPED


class TestReports:
    def test_a_report_applies_once_per_fact_key(self) -> None:
        order = place()
        assert order.record_shipment(shipped(order), now=LATER) is True
        version, count = order.version, len(order.events)
        assert order.record_shipment(shipped(order), now=LATER) is False
        assert (order.version, len(order.events)) == (version, count)
        assert [ln.quantities.shipped for ln in order.lines] == [2, 1]
        assert len(order.shipments) == 1

    def test_stock_reserved_confirms_the_order_on_behalf_of_inventory(self) -> None:
        order = place()
        assert order.record_stock_reserved(reserved(order), now=LATER) is True
        assert order.status is OrderStatus.CONFIRMED
        fact, changed = order.events[1:]
        assert isinstance(fact, events.FactRecorded)
        assert (fact.kind, fact.source) == ("stock_reserved", "inventory")
        assert isinstance(changed, events.StatusChanged)
        assert (changed.previous_status, changed.status) == ("pending", "confirmed")
        assert (changed.source, changed.at) == ("inventory", LATER)

    def test_stock_shortage_after_confirmation_changes_nothing(self) -> None:
        order = place()
        order.record_stock_reserved(reserved(order), now=LATER)
        shortage = commands.RecordStockShortage(
            **report(order, "shortage-1", "inventory"), skus=("SKU-A",)
        )
        assert order.record_stock_shortage(shortage, now=LATER) is True  # on the timeline
        assert order.status is OrderStatus.CONFIRMED
        assert order.line(line_id(order, "SKU-A")).quantities.backordered == 0

    def test_full_flow_to_completed(self) -> None:
        order = place()
        seen: list[OrderStatus] = []
        order.record_stock_reserved(reserved(order), now=LATER)
        seen.append(order.status)
        order.record_allocation(allocated(order), now=LATER)
        seen.append(order.status)
        order.record_shipment(shipped(order), now=LATER)
        seen.append(order.status)
        order.record_delivery(delivered(order), now=LATER)
        seen.append(order.status)
        done = commands.RecordCompletion(**report(order, "completed-1", "orchestration"))
        order.record_completion(done, now=LATER)
        seen.append(order.status)
        assert seen == [
            OrderStatus.CONFIRMED,
            OrderStatus.CONFIRMED,
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.COMPLETED,
        ]
        changes = [e for e in order.events if isinstance(e, events.StatusChanged)]
        assert [c.status for c in changes] == ["confirmed", "shipped", "delivered", "completed"]

    def test_shipment_and_delivery_are_kept_for_tracking(self) -> None:
        order = ship_everything(place())
        assert order.shipments == [
            Shipment(
                shipment_id="SHP-1",
                carrier="DHL",
                tracking_number="TRK-1",
                tracking_url="https://track.example/TRK-1",
                shipped_at=LATER,
            )
        ]
        order.record_delivery(delivered(order), now=LATER)
        assert order.shipments[0].delivered_at == LATER

    def test_hold_and_release(self) -> None:
        order = place()
        order.record_stock_reserved(reserved(order), now=LATER)
        order.record_hold(hold(order, True, "held-1"), now=LATER)
        on_hold = order.status
        order.record_hold(hold(order, False, "released-1"), now=LATER)
        assert (on_hold, order.status) == (OrderStatus.ON_HOLD, OrderStatus.CONFIRMED)

    def test_returning_some_units_makes_the_order_partially_returned(self) -> None:
        order = ship_everything(place())
        order.record_delivery(delivered(order), now=LATER)
        back = commands.RecordReturn(
            **report(order, "returned-1", "returns"), quantities={line_id(order, "SKU-A"): 1}
        )
        assert order.record_return(back, now=LATER) is True
        assert order.status is OrderStatus.PARTIALLY_RETURNED

    def test_refunds_add_up_to_the_refunded_amount_each_refund_once(self) -> None:
        order = ship_everything(place())
        a = line_id(order, "SKU-A")

        def refund(key: str, amount: str) -> commands.RecordRefund:
            return commands.RecordRefund(
                **report(order, key, "orchestration"),
                quantities={a: 1},
                amount=Decimal(amount),
                details={"refund_id": key, "amount": amount, "currency": "EUR"},
            )

        assert order.refunded_amount == Decimal("0")
        assert order.record_refund(refund("refund:R-1", "18.32"), now=LATER) is True
        assert order.record_refund(refund("refund:R-1", "18.32"), now=LATER) is False
        assert order.refunded_amount == Decimal("18.32")
        assert order.line(a).quantities.refunded == 1
        assert order.record_refund(refund("refund:R-2", "5.00"), now=LATER) is True
        assert order.refunded_amount == Decimal("23.32")
        assert order.line(a).quantities.refunded == 2
        fact = next(e for e in reversed(order.events) if isinstance(e, events.FactRecorded))
        assert (fact.kind, fact.details["amount"]) == ("refunded", "5.00")

    def test_published_events_are_numbered_without_gaps_and_facts_are_not(self) -> None:
        order = place()
        order.edit(OrderChanges(notes="ring twice"), expected_version=1, now=LATER)
        order.record_stock_reserved(reserved(order), now=LATER)
        order.record_hold(hold(order, True, "held-1"), now=LATER)
        order.record_hold(hold(order, False, "released-1"), now=LATER)
        cancel_some(order, {line_id(order, "SKU-A"): 1})
        order.record_allocation(allocated(order), now=LATER)
        order.record_shipment(shipped(order), now=LATER)
        order.record_delivery(delivered(order), now=LATER)
        published = [e for e in order.events if e.published]
        facts = [e for e in order.events if isinstance(e, events.FactRecorded)]
        assert [e.sequence for e in published] == list(range(1, len(published) + 1))
        assert order.event_sequence == len(published)
        assert len(facts) == 6
        assert all(not f.published and f.sequence == 0 for f in facts)
        assert len(published) + len(facts) == len(order.events)

    def test_a_shipment_overtakes_a_cancellation_that_came_too_late(self) -> None:
        order = place()
        order.record_stock_reserved(reserved(order), now=LATER)
        order.record_allocation(allocated(order), now=LATER)
        a = line_id(order, "SKU-A")
        cancel_some(order, {a: 1})
        both = {a: 2, line_id(order, "SKU-B"): 1}  # the location had already sent both units
        order.record_shipment(shipped(order, both), now=LATER)
        assert order.line(a).quantities.cancelled == 0
        assert order.line(a).quantities.shipped == 2
        fact = next(e for e in reversed(order.events) if isinstance(e, events.FactRecorded))
        assert fact.details["cancellation_overtaken"] == [{"line_id": str(a), "quantity": 1}]


class TestAddress:
    def test_as_dict_is_every_field_by_name(self) -> None:
        """Written out for speed, so a field added to Address must be added to it too."""
        address = Address("Ada", "Main St 1", "Berlin", "10115", "DE", "Floor 2", "BE", 52.5, 13.4)
        assert address.as_dict() == asdict(address)
        assert list(address.as_dict()) == [f.name for f in fields(Address)]
