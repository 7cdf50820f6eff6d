"""Opening a return: refused with the error that says exactly why (unknown or repeated line,
nothing the policy lets come back, more than was delivered and not already on its way back,
the window closed, too many returns), otherwise approved at once unless its reasons or its
worth want a person to look; a mail return gets a label whose payer follows the reasons.

Pure: the order's view, the earlier returns and the policy are built by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from libs.contracts import returns as ev
from libs.errors import Conflict, DomainError, NotFound, Unprocessable
from services.returns.domain.errors import (
    ActionNotAllowed,
    DuplicateLine,
    ExceedsReturnable,
    NotReturnable,
    OrderNotFound,
    OutsideReturnWindow,
    ReceiptExceedsReturn,
    ReturnLimitReached,
    ReturnNotFound,
    UnknownLine,
    UnknownReturnLine,
)
from services.returns.domain.money import OrderCredits
from services.returns.domain.opening import ReturnWish, open_return
from services.returns.domain.order import KnownOrder, units_by_line
from services.returns.domain.parts import Label, Method, Status
from services.returns.domain.policy import Payer, Reason, RefundTiming, ReturnPolicy
from services.returns.domain.rma import ReturnRequest, tracking_number
from tests.returns.unit.builders import (
    DELIVERED,
    LAMP,
    LAMP_LINE,
    MUG,
    MUG_LINE,
    NOW,
    RETURN_ID,
    STORE_CREDIT,
    events,
    lamp_line,
    make_order,
    mug_line,
    names,
    policy,
    published,
    want,
    wish,
)


def opened(
    the_wish: ReturnWish | None = None,
    the_policy: ReturnPolicy | None = None,
    *,
    order: KnownOrder | None = None,
    earlier: Sequence[ReturnRequest] = (),
    credits: OrderCredits | None = None,
    now: timedelta = timedelta(0),
) -> ReturnRequest:
    return open_return(
        the_wish or wish(),
        order or make_order(),
        earlier,
        the_policy or policy(),
        credits if credits is not None else OrderCredits(),
        NOW + now,
    )


def earlier_return(
    *lines: tuple[UUID, int], status: Status = Status.APPROVED, number: int = 1
) -> ReturnRequest:
    """A return the order already has, in the given state."""
    rma = opened(
        wish(*(want(line_id, n) for line_id, n in lines), return_id=UUID(int=number)),
        policy(review_reasons=frozenset(Reason)),
    )
    rma.status = status
    return rma


# --- refusals -----------------------------------------------------------------------------


def test_a_line_of_another_order_is_refused() -> None:
    stranger = UUID(int=404)

    with pytest.raises(UnknownLine, match=str(stranger)):
        opened(wish(want(stranger, 1)))


def test_the_same_line_twice_is_refused() -> None:
    with pytest.raises(DuplicateLine):
        opened(wish(want(MUG_LINE, 1), want(LAMP_LINE, 1), want(MUG_LINE, 1)))


def test_a_sku_the_policy_excludes_cannot_come_back() -> None:
    with pytest.raises(NotReturnable, match=MUG):
        opened(wish(want(MUG_LINE, 1)), policy(non_returnable_skus=frozenset({MUG})))


def test_other_lines_of_the_order_may_still_come_back_when_one_sku_is_excluded() -> None:
    rma = opened(wish(want(LAMP_LINE, 1)), policy(non_returnable_skus=frozenset({MUG})))

    assert rma.status is Status.APPROVED


def test_an_order_tagged_final_sale_cannot_be_returned_at_all() -> None:
    order = make_order(tags=frozenset({"final-sale", "vip"}))

    with pytest.raises(NotReturnable, match="final-sale"):
        opened(order=order, the_policy=policy(non_returnable_tags=frozenset({"final-sale"})))


def test_a_tag_the_policy_does_not_name_changes_nothing() -> None:
    order = make_order(tags=frozenset({"vip"}))

    rma = opened(order=order, the_policy=policy(non_returnable_tags=frozenset({"final-sale"})))

    assert rma.status is Status.APPROVED


def test_more_units_than_were_delivered_are_refused() -> None:
    order = make_order([lamp_line(), mug_line(delivered=2)])

    with pytest.raises(ExceedsReturnable, match="3 asked, 2 delivered"):
        opened(wish(want(MUG_LINE, 3)), order=order)


def test_the_delivered_units_of_a_partly_delivered_line_may_come_back() -> None:
    order = make_order([lamp_line(), mug_line(delivered=2)])

    rma = opened(wish(want(MUG_LINE, 2)), order=order)

    assert rma.units == 2


def test_an_undelivered_line_cannot_be_returned() -> None:
    order = make_order([lamp_line(), mug_line(shipped=3, delivered=0, delivered_at=None)])

    with pytest.raises(ExceedsReturnable):
        opened(wish(want(MUG_LINE, 1)), order=order)


def test_units_already_in_an_earlier_return_cannot_be_returned_again() -> None:
    earlier = [earlier_return((MUG_LINE, 2))]

    with pytest.raises(ExceedsReturnable, match="2 already in returns"):
        opened(wish(want(MUG_LINE, 2)), earlier=earlier)
    assert opened(wish(want(MUG_LINE, 1)), earlier=earlier).units == 1


@pytest.mark.parametrize(
    "status",
    [Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT, Status.RECEIVED, Status.CLOSED],
)
def test_every_earlier_return_but_a_rejected_one_counts(status: Status) -> None:
    earlier = [earlier_return((MUG_LINE, 1)), earlier_return((MUG_LINE, 1), status=status)]

    with pytest.raises(ExceedsReturnable):
        opened(wish(want(MUG_LINE, 2)), earlier=earlier)


def test_units_of_a_rejected_return_may_be_returned_again() -> None:
    earlier = [earlier_return((MUG_LINE, 3), status=Status.REJECTED)]

    rma = opened(wish(want(MUG_LINE, 3)), earlier=earlier)

    assert rma.units == 3


def test_the_window_is_counted_from_the_delivery_and_its_last_moment_still_counts() -> None:
    last_moment = DELIVERED + timedelta(days=30) - NOW

    assert opened(now=last_moment).status is Status.APPROVED
    with pytest.raises(OutsideReturnWindow, match="until 2024-06-28"):
        opened(now=last_moment + timedelta(seconds=1))


def test_the_window_follows_the_policy() -> None:
    with pytest.raises(OutsideReturnWindow):
        opened(the_policy=policy(window_days=3))


def test_the_window_is_judged_per_line() -> None:
    order = make_order([lamp_line(delivered_at=NOW - timedelta(days=40)), mug_line()])

    assert opened(wish(want(MUG_LINE, 1)), order=order).status is Status.APPROVED
    with pytest.raises(OutsideReturnWindow, match=LAMP):
        opened(wish(want(MUG_LINE, 1), want(LAMP_LINE, 1)), order=order)


def test_a_later_delivery_of_a_line_opens_its_window_again() -> None:
    order = make_order([lamp_line(delivered=1, delivered_at=NOW - timedelta(days=40)), mug_line()])

    assert order.record_delivery({LAMP_LINE: 1}, NOW - timedelta(days=1))
    rma = opened(wish(want(LAMP_LINE, 2)), order=order)

    assert rma.units == 2


def test_an_order_has_at_most_the_policys_number_of_returns() -> None:
    earlier = [
        earlier_return((MUG_LINE, 1), number=1),
        earlier_return((MUG_LINE, 1), number=2),
    ]

    with pytest.raises(ReturnLimitReached, match="already has 2 returns"):
        opened(wish(want(LAMP_LINE, 1)), policy(max_returns_per_order=2), earlier=earlier)


def test_rejected_returns_do_not_count_towards_the_limit() -> None:
    earlier = [
        earlier_return((MUG_LINE, 1), number=1),
        earlier_return((MUG_LINE, 1), number=2, status=Status.REJECTED),
    ]

    rma = opened(wish(want(LAMP_LINE, 1)), policy(max_returns_per_order=2), earlier=earlier)

    assert rma.status is Status.APPROVED


def test_a_refusal_leaves_the_orders_credits_untouched() -> None:
    credits = OrderCredits()

    with pytest.raises(UnknownLine):
        opened(
            wish(want(LAMP_LINE, 1), want(UUID(int=404), 1)),
            policy(refund_timing=RefundTiming.ON_APPROVAL),
            credits=credits,
        )

    assert credits == OrderCredits()


@pytest.mark.parametrize(
    ("error", "kind", "code"),
    [
        (ReturnNotFound, NotFound, "return_not_found"),
        (OrderNotFound, NotFound, "order_not_found"),
        (UnknownLine, Unprocessable, "unknown_line"),
        (DuplicateLine, Unprocessable, "duplicate_line"),
        (NotReturnable, Unprocessable, "not_returnable"),
        (OutsideReturnWindow, Unprocessable, "outside_return_window"),
        (ExceedsReturnable, Unprocessable, "exceeds_returnable"),
        (ReturnLimitReached, Unprocessable, "return_limit_reached"),
        (ActionNotAllowed, Conflict, "action_not_allowed"),
        (UnknownReturnLine, Unprocessable, "unknown_return_line"),
        (ReceiptExceedsReturn, Conflict, "exceeds_expected_units"),
    ],
)
def test_every_refusal_has_a_stable_code_and_kind(
    error: type[DomainError], kind: type[DomainError], code: str
) -> None:
    assert issubclass(error, kind)
    assert error.code == code


# --- approved at once, or waiting for a person --------------------------------------------


def test_a_return_nobody_needs_to_look_at_is_approved_at_once() -> None:
    rma = opened(wish(want(LAMP_LINE, 1, comment="too bright"), want(MUG_LINE, 2)))

    assert rma.status is Status.APPROVED
    assert [type(e) for e in published(rma)] == [ev.ReturnRequested, ev.ReturnApproved]
    requested = events(rma, ev.ReturnRequested)[0]
    assert requested.needs_review is False
    assert requested.method == "mail"
    assert requested.resolution == "refund"
    assert requested.rma_number == "RMA-0001"
    assert requested.requested_at == NOW
    assert [(ln.line_id, ln.sku, ln.quantity, ln.reason) for ln in requested.lines] == [
        (str(LAMP_LINE), LAMP, 1, "changed_mind"),
        (str(MUG_LINE), MUG, 2, "changed_mind"),
    ]
    assert names(rma) == ["requested", "approved"]
    assert rma.timeline[0].detail == "3 units, refund"


def test_a_new_return_remembers_its_order_lines_and_policy() -> None:
    rma = opened(
        wish(want(LAMP_LINE, 1, Reason.DAMAGED, "cracked"), resolution=STORE_CREDIT),
        policy(),
    )

    assert rma.id == RETURN_ID
    assert rma.order_id == make_order().order_id
    assert rma.currency == "EUR"
    assert rma.policy.version == 3
    assert rma.created_at == rma.updated_at == NOW
    assert [(ln.line_id, ln.sku, ln.quantity, ln.reason, ln.comment) for ln in rma.lines] == [
        (LAMP_LINE, LAMP, 1, Reason.DAMAGED, "cracked")
    ]
    assert rma.is_open


@pytest.mark.parametrize("reason", [Reason.DAMAGED, Reason.OTHER])
def test_a_reason_the_policy_reviews_waits_for_a_person(reason: Reason) -> None:
    the_policy = policy(review_reasons=frozenset({Reason.DAMAGED, Reason.OTHER}))

    rma = opened(wish(want(LAMP_LINE, 1), want(MUG_LINE, 1, reason)), the_policy)

    assert rma.status is Status.REQUESTED
    assert [type(e) for e in published(rma)] == [ev.ReturnRequested]
    assert events(rma, ev.ReturnRequested)[0].needs_review is True
    assert rma.label is None
    assert names(rma) == ["requested"]


def test_a_return_worth_more_than_the_policys_amount_waits_for_a_person() -> None:
    # Two lamps are worth 82.00 (discount and tax included), one is worth 41.00.
    the_policy = policy(review_above_amount=Decimal("41.00"))

    assert opened(wish(want(LAMP_LINE, 1)), the_policy).status is Status.APPROVED
    assert opened(wish(want(LAMP_LINE, 2)), the_policy).status is Status.REQUESTED


def test_the_reviewed_amount_includes_discount_and_tax() -> None:
    # Gross 80.00, paid 82.00 after 5.00 discount and 7.00 tax.
    the_policy = policy(review_above_amount=Decimal("81.00"))

    assert opened(wish(want(LAMP_LINE, 2)), the_policy).status is Status.REQUESTED


def test_a_reviewed_return_gets_its_label_when_a_person_approves_it() -> None:
    order, credits = make_order(), OrderCredits()
    rma = opened(wish(want(LAMP_LINE, 1)), policy(review_reasons=frozenset({Reason.CHANGED_MIND})))

    rma.approve(order, credits, NOW + timedelta(hours=2))

    assert rma.status is Status.APPROVED
    assert rma.label is not None
    assert rma.updated_at == NOW + timedelta(hours=2)
    assert names(rma) == ["requested", "approved"]


# --- labels -------------------------------------------------------------------------------


def test_a_mail_return_gets_a_label_from_the_policys_carrier() -> None:
    rma = opened(the_policy=policy(return_carrier="UPS", return_service="returns-ground"))

    assert rma.label == Label(
        "UPS", "returns-ground", tracking_number("UPS", RETURN_ID), Payer.CUSTOMER
    )
    approved = events(rma, ev.ReturnApproved)[0]
    assert approved.carrier == "UPS"
    assert approved.tracking_number == rma.label.tracking_number
    assert approved.approved_at == NOW
    assert rma.timeline[-1].detail == f"UPS {rma.label.tracking_number}, paid by customer"


def test_the_tracking_number_is_the_same_for_the_same_return_and_no_other() -> None:
    first = opened()
    again = opened()
    # Return ids are UUIDv7: two returns opened in the same millisecond share their start.
    other = opened(wish(return_id=UUID("7d2f1a90-3c4b-4e8a-b1d2-9a0e5c6f7b03")))

    assert first.label is not None and again.label is not None and other.label is not None
    assert first.label.tracking_number == again.label.tracking_number
    assert first.label.tracking_number == tracking_number("DHL", RETURN_ID)
    assert other.label.tracking_number != first.label.tracking_number


@pytest.mark.parametrize("return_id", [UUID(int=0), UUID(int=2**128 - 1), RETURN_ID])
def test_a_tracking_number_is_the_carriers_prefix_and_twelve_digits(return_id: UUID) -> None:
    number = tracking_number("dhl express", return_id)

    assert number[:4] == "DHLR"
    assert len(number) == 16 and number[4:].isdigit()


@pytest.mark.parametrize(
    ("reasons", "payer"),
    [
        ((Reason.CHANGED_MIND,), Payer.CUSTOMER),
        ((Reason.SIZE_FIT, Reason.OTHER), Payer.CUSTOMER),
        ((Reason.DAMAGED,), Payer.MERCHANT),
        ((Reason.WRONG_ITEM,), Payer.MERCHANT),
        ((Reason.NOT_AS_DESCRIBED,), Payer.MERCHANT),
        ((Reason.CHANGED_MIND, Reason.DAMAGED), Payer.MERCHANT),
    ],
)
def test_the_label_is_paid_by_whoever_the_reasons_name(
    reasons: tuple[Reason, ...], payer: Payer
) -> None:
    lines = [
        want(line_id, 1, r) for line_id, r in zip((LAMP_LINE, MUG_LINE), reasons, strict=False)
    ]

    rma = opened(wish(*lines))

    assert rma.label is not None
    assert rma.label.paid_by is payer


def test_the_policy_may_make_the_merchant_pay_for_any_reason() -> None:
    the_policy = policy(return_shipping_payer={Reason.SIZE_FIT: Payer.MERCHANT})

    size = opened(wish(want(LAMP_LINE, 1, Reason.SIZE_FIT)), the_policy)
    damaged = opened(wish(want(LAMP_LINE, 1, Reason.DAMAGED)), the_policy)

    assert size.label is not None and size.label.paid_by is Payer.MERCHANT
    assert damaged.label is not None and damaged.label.paid_by is Payer.CUSTOMER


def test_an_in_store_return_gets_no_label_but_a_place_to_bring_it() -> None:
    rma = opened(wish(method=Method.IN_STORE))

    assert rma.label is None
    assert rma.location_code == "ST-BER"
    approved = events(rma, ev.ReturnApproved)[0]
    assert approved.carrier is None and approved.tracking_number is None
    assert rma.timeline[-1].detail == "bring it to ST-BER"


def test_a_return_refunded_on_approval_asks_for_its_money_as_it_opens() -> None:
    credits = OrderCredits()

    rma = opened(
        wish(want(LAMP_LINE, 1)), policy(refund_timing=RefundTiming.ON_APPROVAL), credits=credits
    )

    assert [type(e) for e in published(rma)] == [
        ev.ReturnRequested,
        ev.ReturnApproved,
        ev.RefundRequested,
    ]
    assert events(rma, ev.RefundRequested)[0].amount == Decimal("41.00")
    assert credits.units == {LAMP_LINE: 1}


def test_a_return_waiting_for_review_asks_for_no_money_yet() -> None:
    credits = OrderCredits()

    rma = opened(
        the_policy=policy(
            refund_timing=RefundTiming.ON_APPROVAL, review_reasons=frozenset({Reason.CHANGED_MIND})
        ),
        credits=credits,
    )

    assert events(rma, ev.RefundRequested) == []
    assert credits == OrderCredits()


# --- the order's view ---------------------------------------------------------------------


def test_deliveries_add_up_to_the_ordered_quantity_and_keep_the_latest_date() -> None:
    order = make_order([lamp_line(delivered=0, delivered_at=None), mug_line()])

    assert order.record_delivery({LAMP_LINE: 1}, NOW - timedelta(days=2))
    assert order.record_delivery({LAMP_LINE: 5}, NOW - timedelta(days=3))

    lamp = order.line(LAMP_LINE)
    assert lamp is not None
    assert lamp.delivered == 2
    assert lamp.delivered_at == NOW - timedelta(days=2)


def test_a_delivery_of_unknown_lines_changes_nothing() -> None:
    order = make_order()

    assert not order.record_delivery({UUID(int=404): 1}, NOW)
    assert [ln.delivered_at for ln in order.lines] == [DELIVERED, DELIVERED]


def test_shipments_never_count_more_than_was_ordered() -> None:
    order = make_order([lamp_line(shipped=0), mug_line(shipped=1)])

    order.record_shipment({LAMP_LINE: 1, MUG_LINE: 5})

    assert [ln.shipped for ln in order.lines] == [1, 3]


def test_units_are_summed_per_line() -> None:
    pairs = [(LAMP_LINE, 1), (MUG_LINE, 2), (LAMP_LINE, 1)]

    assert units_by_line(pairs) == {LAMP_LINE: 2, MUG_LINE: 2}
