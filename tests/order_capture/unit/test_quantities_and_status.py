"""LineQuantities moves between stages, and the order status derived from the buckets."""

from __future__ import annotations

from services.order_capture.domain.quantities import LineQuantities
from services.order_capture.domain.status import OrderStatus, derive_status


def qty(ordered: int, **buckets: int) -> LineQuantities:
    return LineQuantities(ordered=ordered, **buckets)


def status(*lines: LineQuantities, on_hold: bool = False, closed: bool = False) -> OrderStatus:
    return derive_status(list(lines), on_hold=on_hold, closed=closed)


class TestDerivedCounts:
    def test_open_unshipped_and_waiting(self) -> None:
        q = qty(10, cancelled=1, shipped=2, backordered=1, reserved=2, allocated=1)
        assert q.open == 9
        assert q.unshipped == 7
        assert q.waiting == 3


class TestBackorderAndRelease:
    def test_backorder_takes_only_waiting_units(self) -> None:
        q = qty(3, reserved=1)
        assert q.backorder(5) == 2
        assert (q.backordered, q.reserved, q.waiting) == (2, 1, 0)

    def test_release_puts_reserved_units_back_to_waiting(self) -> None:
        q = qty(3, reserved=3)
        assert q.release(2) == 2
        assert (q.reserved, q.waiting) == (1, 2)
        assert q.release(5) == 1
        assert q.reserved == 0


class TestReserve:
    def test_takes_backordered_units_before_waiting_ones(self) -> None:
        q = qty(5, backordered=2)
        assert q.reserve(3) == 3
        assert (q.backordered, q.reserved, q.waiting) == (0, 3, 2)

    def test_takes_waiting_units_when_nothing_is_backordered(self) -> None:
        q = qty(4)
        assert q.reserve(3) == 3
        assert (q.reserved, q.waiting) == (3, 1)

    def test_is_clamped_to_waiting_units(self) -> None:
        q = qty(2)
        assert q.reserve(5) == 2
        assert (q.reserved, q.waiting) == (2, 0)

    def test_is_clamped_when_backordered_units_are_taken_first(self) -> None:
        q = qty(5, backordered=3)
        assert q.reserve(10) == 5
        assert (q.backordered, q.reserved, q.waiting) == (0, 5, 0)


class TestAllocate:
    def test_takes_reserved_units_before_waiting_ones(self) -> None:
        q = qty(4, reserved=2)
        assert q.allocate(3) == 3
        assert (q.reserved, q.allocated, q.waiting) == (0, 3, 1)

    def test_takes_waiting_units_when_nothing_is_reserved(self) -> None:
        q = qty(3)
        assert q.allocate(2) == 2
        assert (q.allocated, q.waiting) == (2, 1)

    def test_reaches_backordered_units_last(self) -> None:
        q = qty(6, reserved=2, backordered=2)  # and 2 waiting
        assert q.allocate(5) == 5
        assert (q.reserved, q.backordered, q.allocated, q.waiting) == (0, 1, 5, 0)


class TestShip:
    def test_takes_allocated_units_first(self) -> None:
        q = qty(4, allocated=2, reserved=2)
        assert q.ship(2) == (2, 0)
        assert (q.allocated, q.reserved, q.shipped) == (0, 2, 2)

    def test_takes_earlier_stages_when_nothing_is_allocated(self) -> None:
        q = qty(3, reserved=1)  # and 2 waiting
        assert q.ship(3) == (3, 0)
        assert (q.reserved, q.waiting, q.shipped) == (0, 0, 3)

    def test_reaches_backordered_units_last(self) -> None:
        q = qty(3, backordered=1, reserved=1)  # and 1 waiting
        assert q.ship(3) == (3, 0)
        assert (q.backordered, q.reserved, q.waiting, q.shipped) == (0, 0, 0, 3)

    def test_overtakes_cancelled_units_when_the_stages_run_short(self) -> None:
        q = qty(3, cancelled=1)  # 2 waiting
        assert q.ship(3) == (3, 1)
        assert (q.cancelled, q.shipped, q.open, q.unshipped) == (0, 3, 3, 0)

    def test_never_ships_more_than_was_ordered(self) -> None:
        q = qty(2)
        assert q.ship(5) == (2, 0)
        assert q.shipped == 2

    def test_overtakes_a_late_cancellation_of_allocated_units(self) -> None:
        q = qty(3, allocated=3)
        assert q.cancel(1) == 1  # the cancellation reaches the location too late
        assert q.ship(3) == (3, 1)
        assert (q.allocated, q.cancelled, q.shipped, q.unshipped) == (0, 0, 3, 0)


class TestAfterShipment:
    def test_deliver_is_clamped_to_shipped_units(self) -> None:
        q = qty(3, shipped=2)
        assert q.deliver(5) == 2
        assert q.deliver(1) == 0
        assert q.delivered == 2

    def test_return_is_clamped_to_shipped_units_even_without_delivery(self) -> None:
        q = qty(3, shipped=2)
        assert q.return_(5) == 2
        assert q.return_(1) == 0
        assert (q.returned, q.delivered) == (2, 0)

    def test_refund_is_clamped_to_ordered_units(self) -> None:
        q = qty(3)
        assert q.refund(5) == 3
        assert q.refund(1) == 0
        assert q.refunded == 3


class TestCancel:
    def test_takes_the_least_advanced_units_first(self) -> None:
        q = qty(6, backordered=1, reserved=1, allocated=1)  # and 3 waiting
        assert q.cancel(5) == 5
        assert (q.waiting, q.backordered, q.reserved, q.allocated) == (0, 0, 0, 1)
        assert q.cancelled == 5

    def test_never_takes_shipped_units(self) -> None:
        q = qty(3, shipped=2)
        assert q.cancel(3) == 1
        assert (q.cancelled, q.shipped, q.unshipped) == (1, 2, 0)


class TestLateReports:
    def test_reservation_after_shipment_changes_nothing(self) -> None:
        q = qty(2)
        q.ship(2)
        before = q.as_dict()
        assert q.reserve(2) == 0
        assert q.as_dict() == before

    def test_allocation_and_backorder_after_shipment_change_nothing(self) -> None:
        q = qty(2)
        q.ship(2)
        before = q.as_dict()
        assert q.allocate(2) == 0
        assert q.backorder(2) == 0
        assert q.as_dict() == before

    def test_stock_shortage_after_confirmation_changes_nothing(self) -> None:
        q = qty(2)
        q.reserve(2)
        before = q.as_dict()
        assert q.backorder(q.waiting) == 0
        assert q.backorder(2) == 0
        assert q.as_dict() == before
        assert status(q) is OrderStatus.CONFIRMED

    def test_repeated_reservation_changes_nothing(self) -> None:
        q = qty(2)
        assert q.reserve(2) == 2
        assert q.reserve(2) == 0
        assert q.reserved == 2


class TestDeriveStatus:
    def test_cancelled_when_every_unit_is_cancelled(self) -> None:
        assert status(qty(2, cancelled=2), qty(1, cancelled=1)) is OrderStatus.CANCELLED

    def test_not_cancelled_while_one_unit_is_open(self) -> None:
        assert status(qty(2, cancelled=2), qty(1)) is OrderStatus.PENDING

    def test_returned_when_every_shipped_unit_came_back(self) -> None:
        line = qty(3, cancelled=1, shipped=2, delivered=2, returned=2)
        assert status(line, closed=True) is OrderStatus.RETURNED

    def test_partially_returned_when_some_shipped_units_came_back(self) -> None:
        line = qty(2, shipped=2, delivered=2, returned=1)
        assert status(line, closed=True) is OrderStatus.PARTIALLY_RETURNED

    def test_delivered_when_every_open_unit_is_delivered(self) -> None:
        lines = (qty(2, shipped=2, delivered=2), qty(1, cancelled=1))
        assert status(*lines) is OrderStatus.DELIVERED

    def test_completed_needs_delivery_and_closing(self) -> None:
        delivered = qty(2, shipped=2, delivered=2)
        assert status(delivered, closed=True) is OrderStatus.COMPLETED
        assert status(qty(2, shipped=2), closed=True) is OrderStatus.SHIPPED

    def test_shipped_when_every_open_unit_is_shipped(self) -> None:
        lines = (qty(2, shipped=2, delivered=1), qty(2, cancelled=1, shipped=1))
        assert status(*lines) is OrderStatus.SHIPPED

    def test_partially_shipped_when_some_unit_is_shipped(self) -> None:
        assert status(qty(2, shipped=2), qty(1, allocated=1)) is OrderStatus.PARTIALLY_SHIPPED

    def test_on_hold_before_anything_ships(self) -> None:
        assert status(qty(2, reserved=2), on_hold=True) is OrderStatus.ON_HOLD
        assert status(qty(2, backordered=2), on_hold=True) is OrderStatus.ON_HOLD

    def test_hold_is_ignored_once_something_shipped(self) -> None:
        partly = qty(2, shipped=1, allocated=1)
        assert status(partly, on_hold=True) is OrderStatus.PARTIALLY_SHIPPED
        assert status(qty(2, shipped=2), on_hold=True) is OrderStatus.SHIPPED

    def test_backordered_when_some_unit_is_backordered(self) -> None:
        assert status(qty(2, reserved=1, backordered=1), qty(1)) is OrderStatus.BACKORDERED

    def test_confirmed_when_every_open_unit_is_reserved_or_allocated(self) -> None:
        lines = (qty(2, reserved=1, allocated=1), qty(3, cancelled=1, reserved=2))
        assert status(*lines) is OrderStatus.CONFIRMED

    def test_pending_otherwise(self) -> None:
        assert status(qty(2)) is OrderStatus.PENDING
        assert status(qty(2, reserved=2), qty(1)) is OrderStatus.PENDING
