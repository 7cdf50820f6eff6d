"""Delays: an order told when it will leave later than promised (order_delayed).

Two things make an order late. Its backorder's delivery is cancelled: inventory promises the
waiting units again from the deliveries still expected (a later date is a delay), and the
units none of them covers lapse and are routed again (from stock, from other incoming stock,
or into the waiting room). Or a promised dispatch passes with the units still in the
building (or their stock still not arrived): the order is delayed to the next dispatch day,
and again each time that one passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from services.orchestration.domain import commands
from services.orchestration.domain.fulfillment import Status
from services.orchestration.domain.routing.arrival import dispatch_deadline
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.state import Held, SagaState, backorder_key, expected_at

# A fulfilment order in one of these has not left: its dispatch can still be late.
NOT_DISPATCHED = frozenset({Status.CREATED, Status.ACCEPTED, Status.PICKED, Status.PACKED})


class DelaySteps(SagaCore):
    """Inventory's new promises for backorders, and promised dispatches that passed."""

    def backorder_repromised(
        self,
        reservation_id: str,
        lines: Sequence[commands.RepromisedLine],
        reason: str,
        now: datetime,
    ) -> None:
        """A delivery the order's backorders counted on changed: they are expected at the
        dates inventory promises now, and the lapsed units are routed again."""
        lapsed: dict[str, int] = {}
        moved: set[str] = set()  # the backorder promises whose date moved
        for ln in lines:
            for h in self.held:
                if (
                    h.reservation_id != reservation_id
                    or h.location_code != ln.location_code
                    or h.sku != ln.sku
                    or (ln.line_id is not None and h.line_id != ln.line_id)
                    or not h.backordered
                ):
                    continue
                gone = min(ln.lapsed, h.backordered)
                h.backordered -= gone
                h.quantity -= gone
                h.expected_at = ln.expected_at if h.backordered else None
                moved.add(backorder_key(reservation_id, h.location_code))
                if gone:
                    lapsed[h.line_id] = lapsed.get(h.line_id, 0) + gone
                    self.unrouted[h.line_id] = self.unrouted.get(h.line_id, 0) + gone
                break
        self.held = [h for h in self.held if h.quantity > 0]
        self._step("backorder_repromised", f"{reason}: {len(lines)} lines promised again", now)
        before = {p.key: p.due for p in self.promises}
        self._promise_backorders(now)
        waiting = self._waiting_by_backorder()
        for key in sorted(moved & set(waiting)):  # the rest wait nowhere any more
            self._move_backorder_promise(key, waiting[key], before.get(key), reason, now)
        if lapsed:
            self._lapsed(lapsed, before, reservation_id, now)

    def _move_backorder_promise(
        self,
        key: str,
        units: Sequence[Held],
        previous: datetime | None,
        reason: str,
        now: datetime,
    ) -> None:
        """The promise of the units waiting under `key` moves to their new date, and the
        order hears of it when that is later."""
        expected = expected_at(units)
        promise = next(p for p in self.promises if p.key == key)  # _promise_backorders made it
        if expected is None:
            return
        due = dispatch_deadline(promise, expected)
        if previous is not None and due > previous:
            what = "was cancelled" if reason == "inbound_cancelled" else "comes later"
            self._delayed(
                reason,
                f"the delivery {units[0].sku} waited for at {promise.location_code} {what}; "
                f"its stock is now expected {expected.date().isoformat()}",
                {h.line_id: h.backordered for h in units},
                previous,
                due,
                now,
            )
        promise.due = due
        promise.lines = {h.line_id: h.quantity for h in units}

    def _lapsed(
        self,
        lapsed: dict[str, int],
        before: dict[str, datetime],
        reservation_id: str,
        now: datetime,
    ) -> None:
        """Units no delivery covers any more: told, and routed again now."""
        mine = backorder_key(reservation_id, "")
        previous = [due for key, due in before.items() if key.startswith(mine)]
        self._delayed(
            "backorder_lapsed",
            f"no delivery covers {self._units(lapsed)} backordered units any more: "
            "they are routed again",
            lapsed,
            max(previous, default=None),
            None,
            now,
        )
        self.backorder_lapsed = True
        if self.state in (SagaState.BACKORDERED, SagaState.ROUTING, SagaState.WAITING_FOR_STOCK):
            self._enter(SagaState.ROUTING, now)

    def dispatch_overdue(self, now: datetime) -> None:
        """The sweep found a promised dispatch past due: each late promise is delayed to the
        end of the next dispatch day (for stock still to come, counted as if it came now).
        Promises whose units left, or stopped waiting, are dropped without a word."""
        open_keys = {str(f.id) for f in self.fulfillments if f.status in NOT_DISPATCHED}
        open_keys |= set(self._waiting_by_backorder())
        self.promises = [p for p in self.promises if p.key in open_keys]
        for p in self.promises:
            if p.due > now:
                continue
            waiting_for_stock = p.key.startswith("backorder:")
            # Units on hand need only the next truck; stock still to come, its processing.
            calendar = p if waiting_for_stock else replace(p, processing_days=0)
            due = dispatch_deadline(calendar, now)
            self._delayed(
                "dispatch_overdue",
                f"not dispatched from {p.location_code} by {p.due.isoformat()}"
                + (": its stock has not arrived" if waiting_for_stock else ""),
                p.lines,
                p.due,
                due,
                now,
            )
            p.due = due
