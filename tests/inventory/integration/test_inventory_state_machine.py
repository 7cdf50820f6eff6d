"""Random sequences of reserve / release / commit / confirm / adjust / count / inbound /
receive / cancel / expire, through the real handlers and the real database, keep every
invariant, and leave the database exactly where a plain-Python model of the rules says.

Hypothesis runs synchronously, so each test owns an event loop and builds its container (with a
fake clock) on it: the async engine's connections belong to the loop that opened them. Each
example uses fresh location codes and SKUs, and a later era of the fake clock, in the shared
test database; the run holds the expiry job's turn (an advisory lock), since the job expires
every due hold in the database, whoever made it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from libs.errors import DomainError
from libs.ids import new_id
from libs.runtime import ServiceContainer
from services.inventory.adapters import invariant_queries
from services.inventory.adapters.read_models import InvariantsView
from services.inventory.adapters.tables import (
    inbound,
    reservation,
    reservation_line,
    stock_level,
    stock_movement,
)
from services.inventory.bootstrap import bootstrap, expire_holds_job
from services.inventory.domain import commands
from services.inventory.domain.allocation import Request
from services.inventory.domain.locations import Address, Capability, Location, LocationType
from services.inventory.domain.reservation import LinePick
from services.inventory.domain.stock import Reason
from tests.inventory.integration.conftest import (
    FakeClock,
    taking_turns_with_the_expiry_job,
    unique,
)
from tests.inventory.integration.stock_model import Delivery, Key, Line, Model, Pick, Res, Row

T = TypeVar("T")

# The fake clock starts in 2001 and moves on 2 days for every example (one spans at most
# 30 steps of an hour and a second), staying years before the real date even over thousands
# of examples and replays: the expiry job then never finds holds other tests make on the real
# clock.
ERA = datetime(2001, 1, 1, tzinfo=UTC)
SKU_INDEX = st.integers(0, 1)
LOCATION_INDEX = st.integers(0, 1)
# (minutes to expiry or None, priority, minutes after the era the order was placed or None)
Terms = tuple[int | None, int, int | None]
TERMS = st.tuples(st.none() | st.integers(1, 60), st.integers(0, 2), st.none() | st.integers(0, 3))
ADJUSTMENTS = st.sampled_from(
    [
        (Reason.RECEIVED, 1),
        (Reason.FOUND, 1),
        (Reason.DAMAGED, -1),
        (Reason.LOST, -1),
        (Reason.COUNT_CORRECTION, 1),
        (Reason.COUNT_CORRECTION, -1),
    ]
)


class Harness:
    """One event loop and one container for a whole hypothesis run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock(ERA)
        self.container: ServiceContainer = bootstrap(clock=self.clock)
        self.expire_holds = expire_holds_job(
            bus=self.container.bus,
            session_factory=self.container.session_factory,
            clock=self.clock,
            interval_s=60,
        )
        self.locations: set[str] = set()
        self._turn = AsyncExitStack()
        self.run(self._turn.enter_async_context(taking_turns_with_the_expiry_job(self.container)))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def handle(self, cmd: object) -> tuple[Any, str | None]:
        """(result, None), or (None, the code of the business rule the command broke)."""
        try:
            return await self.container.bus.handle(cmd), None
        except DomainError as exc:
            return None, exc.code

    def close(self) -> None:
        self.run(self._turn.aclose())
        self.run(self.container.engine.dispose())
        self.loop.close()


class InventoryMachine(RuleBasedStateMachine):
    def __init__(self, harness: Harness) -> None:
        super().__init__()
        self.h = harness
        self.h.clock.advance(timedelta(days=2))
        self.start = self.h.clock.now()
        assert self.start.year < 2020, "the era must stay in the past"
        self.skus = [unique("SM-S1"), unique("SM-S2")]  # codes in a fixed order: replays agree
        self.model = Model(locations=sorted([unique("SM-A"), unique("SM-B")]))
        self.h.locations.update(self.model.locations)

    def key(self, loc: int, sku: int) -> Key:
        return (self.model.locations[loc], self.skus[sku])

    def expect(self, cmd: object, expected_error: str | None) -> Any:
        result, error = self.h.run(self.h.handle(cmd))
        assert error == expected_error, f"{cmd}: expected {expected_error}, got {error}"
        return result

    @initialize(
        on_hand=st.lists(st.integers(0, 6), min_size=4, max_size=4),
        incoming=st.lists(st.integers(0, 10), min_size=4, max_size=4),
    )
    def stock_both_locations(self, on_hand: list[int], incoming: list[int]) -> None:
        """Two locations with stock of both SKUs, and deliveries on their way to most rows
        (without incoming stock there is nothing to promise backorders against)."""
        now = self.h.clock.now()
        for code in self.model.locations:
            address = Address(line1="Lagerstraße 1", city="Berlin", postal_code="1", country="DE")
            location = Location(
                code=code,
                name=code,
                type=LocationType.WAREHOUSE,
                address=address,
                capabilities=frozenset({Capability.SHIP}),
                created_at=now,
                updated_at=now,
            )
            self.expect(commands.CreateLocation(location=location), None)
        for i, units in enumerate(on_hand):
            code, sku = self.key(i // 2, i % 2)
            self.expect(commands.SetStockLevel(location_code=code, sku=sku, on_hand=units), None)
            self.model.rows[(code, sku)] = Row(on_hand=units)
        for i, units in enumerate(incoming):
            if units:
                self.announce_inbound(loc=i // 2, sku=i % 2, units=units, days=1 + i % 3)

    # --- reservations ---------------------------------------------------------------------

    @rule(
        lines=st.lists(
            st.tuples(SKU_INDEX, st.integers(1, 5), st.none() | LOCATION_INDEX),
            min_size=1,
            max_size=3,
        ),
        backorder=st.booleans(),
        terms=TERMS,
    )
    def reserve(
        self, lines: list[tuple[int, int, int | None]], backorder: bool, terms: Terms
    ) -> None:
        picks: list[Pick] = [
            (self.skus[s], q, None if loc is None else self.model.locations[loc])
            for s, q, loc in lines
        ]
        self._reserve(picks, backorder=backorder, terms=terms)

    @precondition(lambda self: any(d.remaining for d in self.model.deliveries.values()))
    @rule(data=st.data(), beyond=st.integers(1, 3), queue=st.booleans(), terms=TERMS)
    def reserve_more_than_is_free(
        self, data: st.DataObject, beyond: int, queue: bool, terms: Terms
    ) -> None:
        """Backorders need incoming stock at the row: aim at a row that has some, and half the
        time at one where orders already wait, so the queue's order is put to the test."""
        rows = sorted({d.key for d in self.model.deliveries.values() if d.remaining})
        queued = [k for k in rows if self.model.waiting(k)]
        code, sku = data.draw(st.sampled_from(queued if queue and queued else rows), label="row")
        units = self.model.rows[(code, sku)].available + beyond
        self._reserve([(sku, units, code)], backorder=True, terms=terms)

    def _reserve(self, picks: list[Pick], *, backorder: bool, terms: Terms) -> None:
        expires_in, priority, ordered = terms
        # A tick per reservation: the queue never falls back to comparing random ids, so a
        # failing example replays the same way.
        self.h.clock.advance(timedelta(seconds=1))
        now = self.h.clock.now()
        expires_at = now + timedelta(minutes=expires_in) if expires_in else None
        ordered_at = self.start + timedelta(minutes=ordered) if ordered is not None else None
        planned, rejected = self.model.plan(picks, backorder=backorder)
        res_id = self.expect(
            commands.ReserveStock(
                order_id=new_id(),
                requests=tuple(Request(s, q, loc) for s, q, loc in picks),
                allow_backorder=backorder,
                expires_at=expires_at,
                priority=priority,
                ordered_at=ordered_at,
            ),
            None,
        )
        self.model.add(
            Res(
                id=res_id,
                lines=planned,
                priority=priority,
                ordered_at=ordered_at or now,
                created_at=now,
                expires_at=None if rejected else expires_at,
                rejected=rejected,
            )
        )

    def _picks(self, data: st.DataObject, res: Res) -> list[Pick] | None:
        if data.draw(st.booleans(), label="everything"):
            return None
        skus = [s for s in self.skus if any(ln.sku == s for ln in res.lines)]
        sku = data.draw(st.sampled_from(skus), label="sku")
        loc = data.draw(st.none() | st.sampled_from(self.model.locations), label="location")
        return [(sku, data.draw(st.integers(1, 4), label="units"), loc)]

    def _reservation(self, data: st.DataObject) -> Res:
        ids = list(self.model.reservations)
        return self.model.reservations[data.draw(st.sampled_from(ids), label="reservation")]

    @precondition(lambda self: self.model.reservations)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        res = self._reservation(data)
        picks = self._picks(data, res)
        self.expect(commands.ReleaseReservation(reservation_id=res.id, picks=_lp(picks)), None)
        self.model.release(res, picks)

    @precondition(lambda self: self._waiting_lines())
    @rule(data=st.data())
    def release_part_of_a_waiting_order(self, data: st.DataObject) -> None:
        """Which units go back (backordered before held) only shows when another order waits
        ahead at the row: a freed held unit then goes to it, not back to this line."""
        res, line = data.draw(st.sampled_from(self._waiting_lines()), label="waiting line")
        picks: list[Pick] = [(line.sku, data.draw(st.integers(1, line.open)), line.loc)]
        self.expect(commands.ReleaseReservation(reservation_id=res.id, picks=_lp(picks)), None)
        self.model.release(res, picks)

    def _waiting_lines(self) -> list[tuple[Res, Line]]:
        return [
            (r, ln) for r in self.model.reservations.values() for ln in r.lines if ln.backordered
        ]

    @precondition(lambda self: self.model.reservations)
    @rule(data=st.data())
    def commit(self, data: st.DataObject) -> None:
        res = self._reservation(data)
        picks = self._picks(data, res)
        expected = self.model.commit(res, picks)
        self.expect(commands.CommitReservation(reservation_id=res.id, picks=_lp(picks)), expected)

    @precondition(lambda self: self.model.reservations)
    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        res = self._reservation(data)
        expected = self.model.confirm(res)
        self.expect(commands.ConfirmReservation(reservation_id=res.id), expected)

    @rule(minutes=st.integers(0, 60))
    def expire(self, minutes: int) -> None:
        self.h.clock.advance(timedelta(minutes=minutes))

        async def drain() -> None:
            while await self.h.expire_holds.run_once():  # batches, as the job runs them
                pass

        self.h.run(drain())
        self.model.expire(self.h.clock.now())

    # --- stock ----------------------------------------------------------------------------

    @rule(loc=LOCATION_INDEX, sku=SKU_INDEX, adjustment=ADJUSTMENTS, units=st.integers(1, 4))
    def adjust(self, loc: int, sku: int, adjustment: tuple[Reason, int], units: int) -> None:
        code, s = key = self.key(loc, sku)
        reason, sign = adjustment
        expected = self.model.change_on_hand(key, sign * units)
        cmd = commands.AdjustStock(location_code=code, sku=s, delta=sign * units, reason=reason)
        self.expect(cmd, expected)

    @rule(
        loc=LOCATION_INDEX,
        sku=SKU_INDEX,
        on_hand=st.integers(0, 8),
        safety=st.none() | st.integers(0, 2),
    )
    def count(self, loc: int, sku: int, on_hand: int, safety: int | None) -> None:
        code, s = key = self.key(loc, sku)
        delta = on_hand - self.model.rows[key].on_hand
        expected = self.model.change_on_hand(key, delta, safety=safety)
        cmd = commands.SetStockLevel(
            location_code=code, sku=s, on_hand=on_hand, safety_stock=safety
        )
        self.expect(cmd, expected)

    @rule(loc=LOCATION_INDEX, sku=SKU_INDEX, units=st.integers(1, 12), days=st.integers(1, 3))
    def announce_inbound(self, loc: int, sku: int, units: int, days: int) -> None:
        code, s = key = self.key(loc, sku)
        expected_at = self.start + timedelta(days=days)
        cmd = commands.CreateInbound(
            location_code=code, sku=s, quantity=units, expected_at=expected_at
        )
        inbound_id = self.expect(cmd, None)
        self.model.deliveries[inbound_id] = Delivery(key, expected_at, units)

    @precondition(lambda self: self.model.deliveries)
    @rule(data=st.data(), units=st.none() | st.integers(1, 5), cancel=st.integers(0, 4))
    def receive_or_cancel(self, data: st.DataObject, units: int | None, cancel: int) -> None:
        """Mostly a receipt; one time in five the rest of the delivery is cancelled instead."""
        inbound_id = data.draw(st.sampled_from(list(self.model.deliveries)), label="delivery")
        if cancel == 0:
            expected = self.model.cancel(inbound_id)
            self.expect(commands.CancelInbound(inbound_id=inbound_id), expected)
            return
        expected = self.model.receive(inbound_id, units)
        self.expect(commands.ReceiveInbound(inbound_id=inbound_id, quantity=units), expected)

    @precondition(lambda self: self._awaited_deliveries())
    @rule(data=st.data(), days=st.integers(0, 4), cancel=st.booleans())
    def change_a_delivery_orders_wait_for(
        self, data: st.DataObject, days: int, cancel: bool
    ) -> None:
        """A delivery the queue counts on moves (earlier or later) or is cancelled: the queue
        is promised again and what no delivery covers lapses."""
        inbound_id = data.draw(st.sampled_from(self._awaited_deliveries()), label="delivery")
        if cancel:
            expected = self.model.cancel(inbound_id)
            self.expect(commands.CancelInbound(inbound_id=inbound_id), expected)
            return
        expected_at = self.start + timedelta(days=days, hours=1)
        expected = self.model.reschedule(inbound_id, expected_at)
        self.expect(
            commands.RescheduleInbound(inbound_id=inbound_id, expected_at=expected_at), expected
        )

    @precondition(lambda self: self._awaited_deliveries())
    @rule(data=st.data())
    def receive_where_orders_wait(self, data: st.DataObject) -> None:
        """Arriving units are served to the waiting queue: aim deliveries at rows with one."""
        inbound_id = data.draw(st.sampled_from(self._awaited_deliveries()), label="delivery")
        remaining = self.model.deliveries[inbound_id].remaining
        units = data.draw(st.none() | st.integers(1, remaining), label="units")
        expected = self.model.receive(inbound_id, units)
        self.expect(commands.ReceiveInbound(inbound_id=inbound_id, quantity=units), expected)

    def _awaited_deliveries(self) -> list[UUID]:
        waiting = {(ln.loc, ln.sku) for _, ln in self._waiting_lines()}
        return [i for i, d in self.model.deliveries.items() if d.remaining and d.key in waiting]

    # --- after every step -----------------------------------------------------------------

    @invariant()
    def database_matches_the_model_and_every_invariant_holds(self) -> None:
        if not self.model.rows:
            return
        self.h.run(self._check())

    async def _check(self) -> None:
        codes = self.model.locations
        async with self.h.container.session_factory() as s:
            rows = {
                (r.location_code, r.sku): r
                for r in await s.execute(
                    select(stock_level).where(stock_level.c.location_code.in_(codes))
                )
            }
            ledger = {
                (r.location_code, r.sku): (int(r.on_hand), int(r.reserved))
                for r in await s.execute(
                    select(
                        stock_movement.c.location_code,
                        stock_movement.c.sku,
                        func.sum(stock_movement.c.on_hand_delta).label("on_hand"),
                        func.sum(stock_movement.c.reserved_delta).label("reserved"),
                    )
                    .where(stock_movement.c.location_code.in_(codes))
                    .group_by(stock_movement.c.location_code, stock_movement.c.sku)
                )
            }
            lines = await self._lines(s)
            deliveries = {
                r.id: (r.quantity - r.received_quantity - r.cancelled_quantity, r.status)
                for r in await s.execute(select(inbound).where(inbound.c.location_code.in_(codes)))
            }
        held: dict[Key, int] = {}
        for status, line in lines.values():
            assert line.held >= 0 and line.backordered >= 0
            if status != "rejected":
                total = line.held + line.backordered + line.committed + line.released
                assert total == line.quantity, f"buckets of {line} do not add up"
            if line.loc is not None:
                held[(line.loc, line.sku)] = held.get((line.loc, line.sku), 0) + line.held
        assert set(rows) == set(self.model.rows)
        for key, row in rows.items():
            want = self.model.rows[key]
            assert (row.on_hand, row.reserved, row.safety_stock, row.available) == (
                want.on_hand,
                want.reserved,
                want.safety,
                want.available,
            ), f"stock row {key}"
            assert row.available >= 0 and 0 <= row.reserved <= row.on_hand
            assert ledger.get(key, (0, 0)) == (row.on_hand, row.reserved), f"ledger of {key}"
            assert held.get(key, 0) == row.reserved, f"held lines of {key}"
        expected = {
            (r.id, ln.no): (r.status, ln)
            for r in self.model.reservations.values()
            for ln in r.lines
        }
        for k in sorted(set(lines) | set(expected), key=str):
            assert lines.get(k) == expected.get(k), (
                f"line {k}: db {lines.get(k)} != model {expected.get(k)}"
            )
        assert deliveries == {i: (d.remaining, d.status) for i, d in self.model.deliveries.items()}

    async def _lines(self, s: Any) -> dict[tuple[UUID, int], tuple[str, Line]]:
        ids = list(self.model.reservations)
        found = await s.execute(
            select(reservation_line, reservation.c.status)
            .join(reservation, reservation.c.id == reservation_line.c.reservation_id)
            .where(reservation.c.id.in_(ids))
        )
        return {
            (r.reservation_id, r.line_no): (
                r.status,
                Line(
                    r.line_no,
                    r.sku,
                    r.location_code,
                    r.quantity,
                    r.held,
                    r.backordered,
                    r.committed,
                    r.released,
                    r.expected_at,
                    r.available_at_request,
                ),
            )
            for r in found
        }


def _lp(picks: list[Pick] | None) -> tuple[LinePick, ...] | None:
    return None if picks is None else tuple(LinePick(s, q, loc) for s, q, loc in picks)


class TestInventoryStateMachine:
    @pytest.mark.usefixtures("migrated_databases")
    def test_random_sequences_keep_every_invariant_and_match_the_model(self) -> None:
        harness = Harness()

        class OnThisHarness(InventoryMachine):
            def __init__(self) -> None:
                super().__init__(harness)

        try:
            run_state_machine_as_test(
                OnThisHarness,
                settings=settings(
                    max_examples=60,
                    stateful_step_count=30,
                    deadline=None,
                    database=None,
                    suppress_health_check=[HealthCheck.too_slow],
                ),
            )
            report = harness.run(_invariants(harness))
            assert report.stock_rows > 0
            assert [d for d in report.drift if d.location_code in harness.locations] == []
        finally:
            harness.close()


async def _invariants(harness: Harness) -> InvariantsView:
    async with harness.container.session_factory() as s:
        return await invariant_queries.invariants(s, harness.clock.now())
