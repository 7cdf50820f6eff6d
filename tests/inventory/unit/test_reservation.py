"""The reservation aggregate: buckets per line, release, commit, expiry, confirm, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.inventory.domain.allocation import Plan, PlannedLine, Request, Shortfall
from services.inventory.domain.errors import (
    CommitExceedsHeld,
    ReservationClosed,
    ReservationNotTemporary,
)
from services.inventory.domain.reservation import (
    LineChange,
    LinePick,
    ReleaseReason,
    Reservation,
    ReservationLine,
    ReservationStatus,
    from_plan,
)

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
LATER = NOW + timedelta(minutes=15)
RES_ID = UUID(int=1)
ORDER_ID = UUID(int=2)


def reservation(*lines: ReservationLine, expires_at: datetime | None = None) -> Reservation:
    return Reservation(
        id=RES_ID,
        order_id=ORDER_ID,
        lines=list(lines),
        allow_backorder=True,
        ordered_at=NOW,
        created_at=NOW,
        expires_at=expires_at,
    )


def ln(
    no: int, sku: str, *, held: int = 0, backordered: int = 0, committed: int = 0, loc: str = "A"
) -> ReservationLine:
    return ReservationLine(
        line_no=no,
        sku=sku,
        location_code=loc,
        quantity=held + backordered + committed,
        held=held,
        backordered=backordered,
        committed=committed,
    )


def buckets(res: Reservation) -> list[tuple[int, int, int, int]]:
    return [(x.held, x.backordered, x.committed, x.released) for x in res.lines]


class TestRelease:
    def test_backordered_units_go_first_then_held_ones(self) -> None:
        res = reservation(ln(1, "LAMP", held=2, backordered=3))
        changes = res.release([LinePick("LAMP", 4)], reason=ReleaseReason.RELEASED)
        assert changes == [LineChange(1, "LAMP", "A", held=1, backordered=3)]
        assert buckets(res) == [(1, 0, 0, 4)]

    def test_backordered_units_go_first_across_lines_of_one_sku(self) -> None:
        res = reservation(ln(1, "LAMP", held=2, loc="A"), ln(2, "LAMP", backordered=2, loc="B"))
        res.release([LinePick("LAMP", 2)], reason=ReleaseReason.CANCELLED)
        assert buckets(res) == [(2, 0, 0, 0), (0, 0, 0, 2)]

    def test_releasing_more_than_is_open_releases_what_is_open(self) -> None:
        res = reservation(ln(1, "LAMP", held=2, committed=1))
        changes = res.release([LinePick("LAMP", 10)], reason=ReleaseReason.RELEASED)
        assert changes == [LineChange(1, "LAMP", "A", held=2)]
        assert buckets(res) == [(0, 0, 1, 2)]

    def test_a_repeated_release_changes_nothing(self) -> None:
        res = reservation(ln(1, "LAMP", held=2))
        res.release(None, reason=ReleaseReason.RELEASED)
        version = res.version
        assert res.release(None, reason=ReleaseReason.RELEASED) == []
        assert res.version == version
        assert res.status is ReservationStatus.RELEASED

    def test_everything_open_is_released_without_picks(self) -> None:
        res = reservation(ln(1, "LAMP", held=2), ln(2, "SHADE", backordered=1))
        changes = res.release(None, reason=ReleaseReason.CANCELLED)
        assert [(c.sku, c.held, c.backordered) for c in changes] == [
            ("LAMP", 2, 0),
            ("SHADE", 0, 1),
        ]
        assert res.open_units == 0

    def test_picks_name_a_sku_and_may_narrow_to_a_location(self) -> None:
        res = reservation(ln(1, "LAMP", held=2, loc="A"), ln(2, "LAMP", held=2, loc="B"))
        res.release([LinePick("LAMP", 1, location_code="B")], reason=ReleaseReason.RELEASED)
        assert buckets(res) == [(2, 0, 0, 0), (1, 0, 0, 1)]
        res.release([LinePick("LAMP", 2)], reason=ReleaseReason.RELEASED)
        assert buckets(res) == [(0, 0, 0, 2), (1, 0, 0, 1)]

    def test_a_pick_of_another_sku_releases_nothing(self) -> None:
        res = reservation(ln(1, "LAMP", held=2))
        assert res.release([LinePick("SHADE", 1)], reason=ReleaseReason.RELEASED) == []

    def test_an_expiry_release_leaves_the_reservation_expired(self) -> None:
        res = reservation(ln(1, "LAMP", held=2), expires_at=NOW)
        res.release(None, reason=ReleaseReason.EXPIRED)
        assert res.status is ReservationStatus.EXPIRED

    def test_a_rejected_reservation_has_nothing_to_release(self) -> None:
        res = reservation(ReservationLine(1, "LAMP", "A", quantity=3))
        res.rejected = True
        assert res.release(None, reason=ReleaseReason.RELEASED) == []


class TestCommit:
    def test_every_held_unit_is_committed_without_picks(self) -> None:
        res = reservation(ln(1, "LAMP", held=2, backordered=1), ln(2, "SHADE", held=1))
        changes = res.commit(None)
        assert [(c.sku, c.held) for c in changes] == [("LAMP", 2), ("SHADE", 1)]
        assert buckets(res) == [(0, 1, 2, 0), (0, 0, 1, 0)]

    def test_a_pick_commits_only_what_it_names(self) -> None:
        res = reservation(ln(1, "LAMP", held=3))
        assert res.commit([LinePick("LAMP", 2)]) == [LineChange(1, "LAMP", "A", held=2)]
        assert buckets(res) == [(1, 0, 2, 0)]

    def test_naming_more_than_is_held_is_refused_and_changes_nothing(self) -> None:
        res = reservation(ln(1, "LAMP", held=2, backordered=3))
        with pytest.raises(CommitExceedsHeld) as refused:
            res.commit([LinePick("LAMP", 3)])
        assert refused.value.extra == {"sku": "LAMP", "held": 2}
        assert buckets(res) == [(2, 3, 0, 0)]

    def test_two_picks_of_one_sku_together_may_not_exceed_what_is_held(self) -> None:
        res = reservation(ln(1, "LAMP", held=3))
        with pytest.raises(CommitExceedsHeld):
            res.commit([LinePick("LAMP", 2), LinePick("LAMP", 2)])
        assert buckets(res) == [(3, 0, 0, 0)]

    def test_a_pick_at_another_location_finds_nothing_held(self) -> None:
        res = reservation(ln(1, "LAMP", held=3, loc="A"))
        with pytest.raises(CommitExceedsHeld):
            res.commit([LinePick("LAMP", 1, location_code="B")])

    @pytest.mark.parametrize("closed", ["released", "rejected"])
    def test_a_closed_reservation_cannot_commit(self, closed: str) -> None:
        res = reservation(ln(1, "LAMP", held=1))
        if closed == "released":
            res.release(None, reason=ReleaseReason.RELEASED)
        else:
            res.rejected = True
        with pytest.raises(ReservationClosed):
            res.commit(None)


class TestExpire:
    def test_a_hold_past_its_expiry_releases_everything_open(self) -> None:
        res = reservation(ln(1, "LAMP", held=2, backordered=1), expires_at=NOW)
        changes = res.expire(NOW)
        assert changes == [LineChange(1, "LAMP", "A", held=2, backordered=1)]
        assert res.status is ReservationStatus.EXPIRED

    def test_a_hold_before_its_expiry_stays(self) -> None:
        res = reservation(ln(1, "LAMP", held=2), expires_at=LATER)
        assert res.expire(LATER - timedelta(microseconds=1)) == []
        assert res.status is ReservationStatus.HELD

    def test_a_confirmed_reservation_never_expires(self) -> None:
        res = reservation(ln(1, "LAMP", held=2))
        assert res.expire(LATER + timedelta(days=365)) == []
        assert res.status is ReservationStatus.CONFIRMED

    def test_a_hold_with_nothing_open_does_not_expire(self) -> None:
        res = reservation(ln(1, "LAMP", held=2), expires_at=NOW)
        res.commit(None)
        assert res.expire(LATER) == []
        assert res.status is ReservationStatus.COMMITTED


class TestConfirm:
    def test_a_temporary_hold_becomes_firm(self) -> None:
        res = reservation(ln(1, "LAMP", held=2), expires_at=LATER)
        assert res.confirm() is True
        assert (res.status, res.expires_at) == (ReservationStatus.CONFIRMED, None)

    def test_confirming_a_confirmed_reservation_changes_nothing(self) -> None:
        res = reservation(ln(1, "LAMP", held=2))
        assert res.confirm() is False
        assert res.version == 1

    def test_a_released_hold_cannot_be_confirmed(self) -> None:
        res = reservation(ln(1, "LAMP", held=2), expires_at=LATER)
        res.release(None, reason=ReleaseReason.RELEASED)
        with pytest.raises(ReservationNotTemporary):
            res.confirm()


class TestStatus:
    @pytest.mark.parametrize(
        ("line", "expires_at", "expired", "status"),
        [
            (ln(1, "X", held=1), None, False, ReservationStatus.CONFIRMED),
            (ln(1, "X", backordered=1), None, False, ReservationStatus.CONFIRMED),
            (ln(1, "X", held=1), LATER, False, ReservationStatus.HELD),
            (ln(1, "X", committed=1), None, False, ReservationStatus.COMMITTED),
            (ln(1, "X", committed=1), None, True, ReservationStatus.EXPIRED),
            (ReservationLine(1, "X", "A", 1, released=1), None, False, ReservationStatus.RELEASED),
        ],
    )
    def test_status_follows_the_buckets(
        self,
        line: ReservationLine,
        expires_at: datetime | None,
        expired: bool,
        status: ReservationStatus,
    ) -> None:
        res = reservation(line, expires_at=expires_at)
        res.expired = expired
        assert res.status is status

    def test_rejected_wins_over_everything(self) -> None:
        res = reservation(ReservationLine(1, "X", "A", 1))
        res.rejected = True
        assert res.status is ReservationStatus.REJECTED

    def test_a_waiting_line_moves_to_held_when_units_arrive(self) -> None:
        res = reservation(ln(1, "LAMP", held=1, backordered=3))
        assert res.allocate_backorder(1, 2) == 2
        assert res.allocate_backorder(1, 5) == 1, "never more than is waiting"
        assert buckets(res) == [(4, 0, 0, 0)]


class TestFromPlan:
    def test_a_complete_plan_holds_every_line(self) -> None:
        requests = [Request("LAMP", 2, "A", "l1"), Request("SHADE", 3, "B")]
        result = Plan(
            lines=[
                PlannedLine(requests[0], "A", 2, 0, None),
                PlannedLine(requests[1], "B", 1, 2, LATER),
            ],
            shortfalls=[],
        )
        res = from_plan(
            result,
            requests,
            id=RES_ID,
            order_id=ORDER_ID,
            allow_backorder=True,
            priority=3,
            ordered_at=None,
            expires_at=LATER,
            now=NOW,
        )
        assert res.status is ReservationStatus.HELD
        assert (res.ordered_at, res.created_at, res.priority) == (NOW, NOW, 3)
        assert [
            (x.line_no, x.location_code, x.held, x.backordered, x.expected_at, x.order_line_id)
            for x in res.lines
        ] == [(1, "A", 2, 0, None, "l1"), (2, "B", 1, 2, LATER, None)]

    def test_a_rejected_plan_holds_nothing_and_records_what_was_short(self) -> None:
        fits, short = Request("LAMP", 2), Request("LAMP", 2)  # equal, yet two lines
        result = Plan(lines=[], shortfalls=[Shortfall(short, 1, "A")])
        res = from_plan(
            result,
            [fits, short],
            id=RES_ID,
            order_id=ORDER_ID,
            allow_backorder=False,
            priority=0,
            ordered_at=LATER,
            expires_at=LATER,
            now=NOW,
        )
        assert (res.status, res.reason, res.expires_at) == (
            ReservationStatus.REJECTED,
            "insufficient_stock",
            None,
        )
        assert res.ordered_at == LATER
        assert [(x.location_code, x.available_at_request, x.open) for x in res.lines] == [
            (None, None, 0),
            ("A", 1, 0),
        ]


class TestHolds:
    def test_held_units_per_stock_row_in_lock_order(self) -> None:
        res = reservation(
            ln(1, "SHADE", held=1, loc="B"),
            ln(2, "LAMP", held=2, backordered=1, loc="B"),
            ln(3, "SHADE", held=2, loc="B"),
            ln(4, "LAMP", backordered=1, loc="A"),
        )
        assert res.holds == {("B", "LAMP"): 2, ("B", "SHADE"): 3}
        assert list(res.holds) == sorted(res.holds)
