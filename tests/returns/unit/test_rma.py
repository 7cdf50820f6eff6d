"""A return (RMA) after it was opened: approval, rejection, drop-off and receipts in turn (and
a 409 out of turn, a repeat harmless); money settled at the policy's moment by the return's
resolution (a refund asked of orchestration and confirmed by its answer, store credit, or an
exchange placed through order-capture); closed once every unit is back and settled; and a
timeline of every step.

Pure: no database, no broker. The scene drives the return as the handlers will: each step is
given the order's view and the order's credits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid5

import pytest

from libs.contracts import returns as ev
from services.returns.domain.errors import (
    ActionNotAllowed,
    ReceiptExceedsReturn,
    UnknownReturnLine,
)
from services.returns.domain.money import OrderCredits, Quote, quote
from services.returns.domain.parts import (
    Method,
    RefundStatus,
    Status,
)
from services.returns.domain.policy import (
    Condition,
    Disposition,
    Payer,
    Reason,
    RefundTiming,
    ReturnPolicy,
)
from tests.returns.unit.builders import (
    LAMP,
    LAMP_LINE,
    MUG,
    MUG_LINE,
    NOW,
    RETURN_ID,
    SHIPPING,
    STORE_CREDIT,
    Scene,
    events,
    exchange_for,
    make_order,
    names,
    policy,
    published,
    scene,
    want,
    wish,
)

ZERO = Decimal("0")
LAMP_VALUE = Decimal("41.00")
RESELLABLE, DAMAGED, DEFECTIVE = Condition.RESELLABLE, Condition.DAMAGED, Condition.DEFECTIVE
ON_APPROVAL, ON_DROP_OFF = RefundTiming.ON_APPROVAL, RefundTiming.ON_DROP_OFF


def reviewed(the_policy: ReturnPolicy | None = None) -> Scene:
    """A return of two lamps waiting for a person."""
    base = the_policy or policy()
    return scene(the_policy=replace(base, review_reasons=frozenset({Reason.CHANGED_MIND})))


def closed() -> Scene:
    s = scene()
    s.drop_off()
    s.receive()
    s.answer()
    assert status(s) is Status.CLOSED
    return s


def status(s: Scene) -> Status:
    """Read through a call, so each assertion reads the state anew."""
    return s.rma.status


def refund_id(n: int) -> str:
    return str(uuid5(RETURN_ID, f"refund-{n}"))


def fee_policy(**changes: object) -> ReturnPolicy:
    """The customer pays 5.95 for the return parcel of a changed mind."""
    return policy(return_shipping_fee=Decimal("5.95"), **changes)


# --- approval and rejection ---------------------------------------------------------------


def test_a_person_approves_a_return_waiting_for_review() -> None:
    s = reviewed()

    s.approve()

    assert status(s) is Status.APPROVED
    assert [type(e) for e in published(s.rma)] == [ev.ReturnRequested, ev.ReturnApproved]


@pytest.mark.parametrize("before", ["approve", "drop_off", "receive_one"])
def test_approving_again_changes_nothing(before: str) -> None:
    s = scene()
    if before in ("drop_off", "receive_one"):
        s.drop_off()
    if before == "receive_one":
        s.receive((LAMP_LINE, 1, RESELLABLE))
    before_approval, steps, sent = status(s), len(s.rma.timeline), len(s.rma.events)

    s.approve()

    assert status(s) is before_approval
    assert (len(s.rma.timeline), len(s.rma.events)) == (steps, sent)


def test_a_rejected_return_cannot_be_approved() -> None:
    s = reviewed()
    s.reject()

    with pytest.raises(ActionNotAllowed, match="cannot approve a return that is rejected"):
        s.approve()


def test_a_closed_return_cannot_be_approved() -> None:
    s = closed()

    with pytest.raises(ActionNotAllowed):
        s.approve()


def test_a_person_rejects_a_return_with_a_reason() -> None:
    s = reviewed()

    s.reject("worn and washed", NOW + timedelta(hours=1))

    assert status(s) is Status.REJECTED
    assert s.rma.rejection_reason == "worn and washed"
    assert not s.rma.is_open
    rejected = events(s.rma, ev.ReturnRejected)
    assert [(e.reason, e.rejected_at, e.rma_number) for e in rejected] == [
        ("worn and washed", NOW + timedelta(hours=1), "RMA-0001")
    ]
    assert names(s.rma) == ["requested", "rejected"]
    assert s.rma.updated_at == NOW + timedelta(hours=1)


def test_rejecting_again_changes_nothing() -> None:
    s = reviewed()
    s.reject("worn")

    s.reject("another reason")

    assert s.rma.rejection_reason == "worn"
    assert len(events(s.rma, ev.ReturnRejected)) == 1


def test_an_approved_return_cannot_be_rejected() -> None:
    s = scene()

    with pytest.raises(ActionNotAllowed, match="cannot reject a return that is approved"):
        s.reject()


def test_a_rejected_return_goes_no_further() -> None:
    s = reviewed()
    s.reject()

    with pytest.raises(ActionNotAllowed):
        s.drop_off()
    with pytest.raises(ActionNotAllowed):
        s.receive()
    assert status(s) is Status.REJECTED


# --- drop-off -----------------------------------------------------------------------------


def test_a_dropped_off_return_is_in_transit() -> None:
    s = scene()

    s.drop_off(NOW + timedelta(days=1))

    assert status(s) is Status.IN_TRANSIT
    assert names(s.rma)[-1] == "in_transit"
    assert s.rma.updated_at == NOW + timedelta(days=1)


def test_a_return_waiting_for_review_cannot_be_dropped_off() -> None:
    s = reviewed()

    with pytest.raises(ActionNotAllowed, match="cannot drop_off a return that is requested"):
        s.drop_off()


def test_dropping_off_again_changes_nothing() -> None:
    s = scene(the_policy=policy(refund_timing=ON_DROP_OFF))
    s.drop_off()
    steps, sent = len(s.rma.timeline), len(s.rma.events)

    s.drop_off()
    s.receive((LAMP_LINE, 1, RESELLABLE))
    s.drop_off()

    assert status(s) is Status.PARTIALLY_RECEIVED
    assert len(s.requested()) == 1
    assert names(s.rma)[steps:] == ["received"]
    assert len(s.rma.events) == sent + 1


# --- receipts -----------------------------------------------------------------------------


def test_a_return_waiting_for_review_cannot_be_received() -> None:
    s = reviewed()

    with pytest.raises(ActionNotAllowed, match="cannot receive a return that is requested"):
        s.receive()
    assert s.rma.receipts == []


def test_goods_brought_to_a_store_are_received_without_a_drop_off() -> None:
    s = scene(wish(method=Method.IN_STORE))

    s.receive(location="ST-BER")

    assert status(s) is Status.RECEIVED


def test_a_return_is_received_in_parts() -> None:
    s = scene()
    s.drop_off()

    first = s.receive((LAMP_LINE, 1, RESELLABLE), at=NOW + timedelta(days=2))

    assert status(s) is Status.PARTIALLY_RECEIVED
    assert s.rma.lines[0].received == {RESELLABLE: 1}
    assert s.rma.lines[0].outstanding == 1

    second = s.receive((LAMP_LINE, 1, DAMAGED), at=NOW + timedelta(days=3))

    assert status(s) is Status.RECEIVED
    assert s.rma.lines[0].received == {RESELLABLE: 1, DAMAGED: 1}
    assert s.rma.lines[0].outstanding == 0
    assert s.rma.receipts == [first, second]
    assert [e.receipt_id for e in events(s.rma, ev.ReturnReceived)] == [
        str(first.id),
        str(second.id),
    ]


def test_a_receipt_may_split_a_line_by_condition() -> None:
    s = scene()

    receipt = s.receive((LAMP_LINE, 1, RESELLABLE), (LAMP_LINE, 1, DEFECTIVE))

    assert status(s) is Status.RECEIVED
    assert [(rl.quantity, rl.condition, rl.disposition) for rl in receipt.lines] == [
        (1, RESELLABLE, Disposition.RESTOCK),
        (1, DEFECTIVE, Disposition.QUARANTINE),
    ]


def test_more_units_than_the_return_still_expects_are_refused() -> None:
    s = scene()
    s.receive((LAMP_LINE, 1, RESELLABLE))
    sent = len(s.rma.events)

    with pytest.raises(ReceiptExceedsReturn, match="2 more, 1 outstanding"):
        s.receive((LAMP_LINE, 2, RESELLABLE))

    assert len(s.rma.receipts) == 1
    assert s.rma.lines[0].received == {RESELLABLE: 1}
    assert len(s.rma.events) == sent


def test_a_receipt_counting_a_line_twice_is_judged_on_the_sum() -> None:
    s = scene()

    with pytest.raises(ReceiptExceedsReturn):
        s.receive((LAMP_LINE, 2, RESELLABLE), (LAMP_LINE, 1, DAMAGED))

    assert s.rma.lines[0].received == {}


def test_a_line_that_is_not_part_of_the_return_is_refused() -> None:
    s = scene()

    with pytest.raises(UnknownReturnLine, match=str(MUG_LINE)):
        s.receive((MUG_LINE, 1, RESELLABLE))

    assert s.rma.receipts == []


def test_the_same_receipt_twice_changes_nothing() -> None:
    s = scene()
    rid = UUID(int=77)
    first = s.receive((LAMP_LINE, 1, RESELLABLE), receipt_id=rid)
    state = (s.rma.status, len(s.rma.events), len(s.rma.timeline), len(s.rma.refunds))

    again = s.receive((LAMP_LINE, 1, RESELLABLE), receipt_id=rid)
    other = s.receive((LAMP_LINE, 1, DAMAGED), receipt_id=rid)

    assert again is first and other is first
    assert s.rma.lines[0].received == {RESELLABLE: 1}
    assert (s.rma.status, len(s.rma.events), len(s.rma.timeline), len(s.rma.refunds)) == state
    assert s.credits.units == {LAMP_LINE: 1}


def test_the_same_receipt_after_closing_changes_nothing() -> None:
    s = closed()
    first = s.rma.receipts[0]

    assert s.rma.receive(first.id, "WH-BER", [], s.order, s.credits, NOW) is first
    assert status(s) is Status.CLOSED


def test_a_new_receipt_for_a_return_already_back_is_refused() -> None:
    s = scene()
    s.receive()
    assert status(s) is Status.RECEIVED

    with pytest.raises(ReceiptExceedsReturn, match="0 outstanding"):
        s.receive((LAMP_LINE, 1, RESELLABLE))


def test_a_new_receipt_for_a_closed_return_is_refused() -> None:
    s = closed()

    with pytest.raises(ReceiptExceedsReturn, match="0 outstanding"):
        s.receive((LAMP_LINE, 1, RESELLABLE))
    assert len(s.rma.receipts) == 1


@pytest.mark.parametrize(
    ("condition", "disposition"),
    [
        (RESELLABLE, Disposition.RESTOCK),
        (DAMAGED, Disposition.WRITE_OFF),
        (DEFECTIVE, Disposition.QUARANTINE),
    ],
)
def test_each_condition_goes_where_the_policy_sends_it(
    condition: Condition, disposition: Disposition
) -> None:
    s = scene()

    s.receive((LAMP_LINE, 2, condition), location="WH-HAM")

    received = events(s.rma, ev.ReturnReceived)[0]
    assert received.location_code == "WH-HAM"
    assert received.order_id == str(s.order.order_id)
    assert received.return_id == str(RETURN_ID)
    assert received.received_at == NOW
    assert [
        (ln.line_id, ln.sku, ln.quantity, ln.condition, ln.disposition) for ln in received.lines
    ] == [(str(LAMP_LINE), LAMP, 2, condition.value, disposition.value)]
    step = next(e for e in s.rma.timeline if e.name == "received")
    assert step.detail == f"at WH-HAM: 2 {condition.value} → {disposition.value}"


def test_the_policy_may_send_a_condition_elsewhere_and_falls_back_for_the_rest() -> None:
    the_policy = policy(disposition={DAMAGED: Disposition.QUARANTINE})
    s = scene(the_policy=the_policy)

    receipt = s.receive((LAMP_LINE, 1, DAMAGED), (LAMP_LINE, 1, RESELLABLE))

    assert [rl.disposition for rl in receipt.lines] == [
        Disposition.QUARANTINE,
        Disposition.RESTOCK,
    ]
    assert the_policy.disposition_of(DEFECTIVE) is Disposition.QUARANTINE


# --- when money goes back -----------------------------------------------------------------


def test_refunded_on_receipt_each_receipt_asks_for_its_own_units() -> None:
    s = scene()
    s.drop_off()
    assert s.requested() == []

    s.receive((LAMP_LINE, 1, RESELLABLE), at=NOW + timedelta(days=2))
    s.receive((LAMP_LINE, 1, RESELLABLE), at=NOW + timedelta(days=3))

    asked = s.requested()
    assert [(e.refund_id, e.amount, e.requested_at) for e in asked] == [
        (refund_id(1), LAMP_VALUE, NOW + timedelta(days=2)),
        (refund_id(2), LAMP_VALUE, NOW + timedelta(days=3)),
    ]
    assert all(e.currency == "EUR" and e.return_id == str(RETURN_ID) for e in asked)
    assert [[(ln.line_id, ln.quantity) for ln in e.lines] for e in asked] == [
        [(str(LAMP_LINE), 1)],
        [(str(LAMP_LINE), 1)],
    ]
    assert [r.status for r in s.rma.refunds] == [RefundStatus.REQUESTED] * 2


def test_refunded_on_approval_the_whole_return_is_asked_for_at_once() -> None:
    s = reviewed(policy(refund_timing=ON_APPROVAL))
    assert s.requested() == []

    s.approve()

    assert [(e.amount, [(ln.line_id, ln.quantity) for ln in e.lines]) for e in s.requested()] == [
        (Decimal("82.00"), [(str(LAMP_LINE), 2)])
    ]
    s.drop_off()
    s.receive((LAMP_LINE, 1, RESELLABLE))
    s.receive((LAMP_LINE, 1, RESELLABLE))
    assert len(s.requested()) == 1


def test_refunded_on_drop_off_the_whole_return_is_asked_for_when_it_leaves() -> None:
    s = scene(the_policy=policy(refund_timing=ON_DROP_OFF))
    assert s.requested() == []

    s.drop_off()

    assert [e.amount for e in s.requested()] == [Decimal("82.00")]
    s.receive()
    assert len(s.requested()) == 1


def test_settled_units_are_counted_in_the_orders_credits() -> None:
    s = scene()

    s.receive((LAMP_LINE, 1, RESELLABLE))

    assert s.rma.lines[0].settled == 1
    assert s.credits == OrderCredits(units={LAMP_LINE: 1}, amount=LAMP_VALUE)


def test_a_refund_keeps_the_restocking_fee_and_returns_the_shipping_as_the_policy_says() -> None:
    the_policy = policy(restocking_fee_percent={Reason.CHANGED_MIND: Decimal("10")})
    s = scene(wish(want(LAMP_LINE, 1), want(MUG_LINE, 1, Reason.DAMAGED)), the_policy)

    s.receive()

    # 41.00 less 4.10 restocking, 10.37 for the mug, 4.95 shipping back for the damage.
    assert [e.amount for e in s.requested()] == [Decimal("52.22")]
    assert s.rma.refunds[0].quote.shipping == SHIPPING


def test_a_customer_paying_the_parcel_pays_its_fee_once() -> None:
    s = scene(the_policy=fee_policy())
    assert s.rma.label is not None and s.rma.label.paid_by is Payer.CUSTOMER

    s.receive((LAMP_LINE, 1, RESELLABLE))
    s.receive((LAMP_LINE, 1, RESELLABLE))

    assert [e.amount for e in s.requested()] == [Decimal("35.05"), LAMP_VALUE]


def test_a_parcel_the_merchant_pays_costs_the_customer_nothing() -> None:
    s = scene(wish(want(LAMP_LINE, 2, Reason.WRONG_ITEM)), fee_policy())

    s.receive()

    assert [e.amount for e in s.requested()] == [Decimal("82.00") + SHIPPING]


def test_a_return_brought_to_a_store_pays_no_parcel_fee() -> None:
    s = scene(wish(method=Method.IN_STORE), fee_policy())

    s.receive()

    assert [e.amount for e in s.requested()] == [Decimal("82.00")]


def test_the_parcel_fee_is_kept_from_the_next_refund_when_the_first_one_failed() -> None:
    s = scene(the_policy=fee_policy())
    s.receive((LAMP_LINE, 1, RESELLABLE))
    s.answer(ok=False)

    s.receive((LAMP_LINE, 1, RESELLABLE))

    assert [e.amount for e in s.requested()] == [Decimal("35.05"), Decimal("35.05")]


def test_a_refund_worth_nothing_is_settled_without_asking_orchestration() -> None:
    # Everything the order paid was credited already (by other returns).
    s = scene(credits=OrderCredits(amount=make_order().grand_total))

    s.receive()

    assert s.requested() == []
    refunded = events(s.rma, ev.ReturnRefunded)
    assert [(e.amount, e.method) for e in refunded] == [(ZERO, "payment")]
    assert status(s) is Status.CLOSED


def test_returns_of_one_order_share_its_credits() -> None:
    order, credits = make_order(), OrderCredits()
    first = scene(wish(want(MUG_LINE, 1, Reason.DAMAGED)), order=order, credits=credits)
    second = scene(
        wish(want(MUG_LINE, 2, Reason.DAMAGED), return_id=UUID(int=2), rma_number="RMA-0002"),
        order=order,
        credits=credits,
    )

    first.receive()
    second.receive()

    # The order's shipping goes back once; the mugs split 31.10 as 10.37 + 20.73.
    assert [e.amount for e in first.requested()] == [Decimal("10.37") + SHIPPING]
    assert [e.amount for e in second.requested()] == [Decimal("20.73")]
    assert credits.amount == Decimal("31.10") + SHIPPING


# --- orchestration's answer ---------------------------------------------------------------


def test_a_refund_paid_is_announced_as_refunded() -> None:
    s = scene()
    s.receive((LAMP_LINE, 1, RESELLABLE))

    rid = s.answer(at=NOW + timedelta(hours=3))

    refund = s.rma.refunds[0]
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.settled_at == NOW + timedelta(hours=3)
    refunded = events(s.rma, ev.ReturnRefunded)
    assert [(e.refund_id, e.method, e.amount, e.currency, e.refunded_at) for e in refunded] == [
        (rid, "payment", LAMP_VALUE, "EUR", NOW + timedelta(hours=3))
    ]
    assert [(ln.line_id, ln.quantity) for ln in refunded[0].lines] == [(str(LAMP_LINE), 1)]
    assert s.rma.refunded_amount == LAMP_VALUE
    assert status(s) is Status.PARTIALLY_RECEIVED


def test_a_failed_refund_gives_its_units_and_money_back_to_be_settled_again() -> None:
    s = scene(wish(want(MUG_LINE, 1, Reason.DAMAGED)))
    s.receive()
    before = quote(
        s.order,
        OrderCredits(),
        s.rma.policy,
        {MUG_LINE: (1, Reason.DAMAGED)},
        charge_return_shipping=False,
    )

    s.answer(ok=False, reason="card expired")

    refund = s.rma.refunds[0]
    assert (refund.status, refund.reason) == (RefundStatus.FAILED, "card expired")
    assert s.rma.lines[0].settled == 0
    assert s.credits.amount == ZERO
    assert s.credits.units == {MUG_LINE: 0}
    assert not s.credits.shipping_refunded
    assert events(s.rma, ev.ReturnRefunded) == []
    assert s.rma.refunded_amount == ZERO
    assert s.rma.timeline[-1].name == "refund_failed"
    assert s.rma.timeline[-1].detail == f"{refund.amount}: card expired"
    again = quote(
        s.order,
        s.credits,
        s.rma.policy,
        {MUG_LINE: (1, Reason.DAMAGED)},
        charge_return_shipping=False,
    )
    assert again == before == refund.quote


def test_the_units_of_a_failed_refund_are_not_settled_by_the_next_receipt() -> None:
    s = scene()
    s.receive((LAMP_LINE, 1, RESELLABLE))
    s.answer(ok=False)

    s.receive((LAMP_LINE, 1, RESELLABLE))

    assert s.rma.lines[0].settled == 1
    assert [ln.units for e in s.rma.refunds for ln in e.quote.lines] == [1, 1]


@pytest.mark.parametrize("then_ok", [True, False])
def test_a_repeated_answer_changes_nothing(then_ok: bool) -> None:
    s = scene()
    s.receive((LAMP_LINE, 1, RESELLABLE))
    rid = s.answer()
    credits = OrderCredits(dict(s.credits.units), s.credits.amount, s.credits.shipping_refunded)
    sent, steps = len(s.rma.events), len(s.rma.timeline)

    s.answer(ok=then_ok, refund_id=rid)

    assert s.rma.refunds[0].status is RefundStatus.SUCCEEDED
    assert s.credits == credits
    assert (len(s.rma.events), len(s.rma.timeline)) == (sent, steps)


def test_a_repeated_failure_gives_back_only_once() -> None:
    s = scene()
    s.receive((LAMP_LINE, 1, RESELLABLE))
    rid = s.answer(ok=False)

    s.answer(ok=False, refund_id=rid)
    s.answer(ok=True, refund_id=rid)

    assert s.credits.amount == ZERO
    assert s.rma.lines[0].settled == 0
    assert s.rma.refunds[0].status is RefundStatus.FAILED


def test_an_answer_about_another_refund_changes_nothing() -> None:
    s = scene()
    s.receive()
    sent = len(s.rma.events)

    s.answer(refund_id="someone-elses-refund")

    assert s.rma.refunds[0].status is RefundStatus.REQUESTED
    assert len(s.rma.events) == sent


# --- store credit -------------------------------------------------------------------------


def test_store_credit_settles_at_once_without_asking_for_a_refund() -> None:
    s = scene(wish(resolution=STORE_CREDIT))

    s.receive((LAMP_LINE, 1, RESELLABLE))

    assert s.requested() == []
    assert [(e.method, e.amount) for e in events(s.rma, ev.ReturnRefunded)] == [
        ("store_credit", LAMP_VALUE)
    ]
    assert s.rma.refunds[0].status is RefundStatus.SUCCEEDED
    assert s.rma.refunds[0].settled_at == NOW
    assert s.credits.amount == LAMP_VALUE


def test_store_credit_closes_the_return_with_the_last_receipt() -> None:
    s = scene(wish(resolution=STORE_CREDIT))
    s.receive((LAMP_LINE, 1, RESELLABLE))
    assert status(s) is Status.PARTIALLY_RECEIVED

    s.receive((LAMP_LINE, 1, DAMAGED))

    assert status(s) is Status.CLOSED
    assert [e.refunded_amount for e in events(s.rma, ev.ReturnClosed)] == [Decimal("82.00")]


def test_store_credit_on_approval_is_given_before_the_goods_come_back() -> None:
    s = scene(wish(resolution=STORE_CREDIT), policy(refund_timing=ON_APPROVAL))

    assert [e.amount for e in events(s.rma, ev.ReturnRefunded)] == [Decimal("82.00")]
    s.drop_off()
    s.receive()
    assert status(s) is Status.CLOSED


# --- exchanges ----------------------------------------------------------------------------


def test_an_exchange_asks_for_a_replacement_order_with_the_credit_and_the_difference() -> None:
    s = scene(wish(resolution=exchange_for("LAMP-002-BLUE", Decimal("45.00"))))

    s.receive(at=NOW + timedelta(days=2))

    asked = events(s.rma, ev.ExchangeOrderRequested)
    assert [
        (e.replacement_sku, e.quantity, e.unit_price, e.credit, e.difference, e.currency)
        for e in asked
    ] == [("LAMP-002-BLUE", 2, Decimal("45.00"), Decimal("82.00"), Decimal("8.00"), "EUR")]
    assert asked[0].requested_at == NOW + timedelta(days=2)
    assert asked[0].rma_number == "RMA-0001"
    assert s.rma.exchange is not None
    assert (s.rma.exchange.status, s.rma.exchange.difference) == ("pending", Decimal("8.00"))
    assert s.requested() == [] and s.rma.refunds == []
    assert s.credits.amount == Decimal("82.00")
    assert s.rma.timeline[-1].name == "exchange_requested"
    assert s.rma.timeline[-1].detail == "2 x LAMP-002-BLUE"


def test_an_exchange_for_another_size_costs_what_was_paid_for_the_returned_unit() -> None:
    s = scene(wish(resolution=exchange_for("LAMP-001-XL")), policy(refund_timing=ON_APPROVAL))

    # 40.00 each, its share of discount and tax included: 41.00, so the swap costs nothing.
    asked = events(s.rma, ev.ExchangeOrderRequested)
    assert [(e.unit_price, e.quantity, e.difference) for e in asked] == [
        (Decimal("41.00"), 2, Decimal("0.00"))
    ]


def test_a_cheaper_replacement_pays_the_difference_back() -> None:
    s = scene(wish(resolution=exchange_for(MUG, Decimal("30.00"))))

    s.receive()

    assert s.rma.exchange is not None
    assert s.rma.exchange.difference == Decimal("-22.00")
    asked = s.requested()
    assert [(e.amount, e.lines) for e in asked] == [(Decimal("22.00"), [])]
    assert s.rma.refunds[0].quote == Quote((), adjustment=Decimal("22.00"))
    assert s.credits.amount == Decimal("82.00")


def test_a_placed_exchange_closes_the_received_return() -> None:
    s = scene(wish(resolution=exchange_for("LAMP-002-BLUE", Decimal("45.00"))))
    s.receive()
    assert status(s) is Status.RECEIVED
    replacement = UUID(int=555)

    s.rma.exchange_placed(replacement, NOW + timedelta(hours=1))

    assert s.rma.exchange is not None
    assert (s.rma.exchange.status, s.rma.exchange.order_id) == ("placed", replacement)
    assert status(s) is Status.CLOSED
    assert [e.refunded_amount for e in events(s.rma, ev.ReturnClosed)] == [ZERO]
    assert names(s.rma)[-3:] == ["exchange_order_placed", "refunded", "closed"]


def test_an_exchange_placed_before_the_goods_arrive_closes_at_the_last_receipt() -> None:
    s = scene(
        wish(resolution=exchange_for("LAMP-001-XL", Decimal("41.00"))),
        policy(refund_timing=ON_APPROVAL),
    )
    s.rma.exchange_placed(UUID(int=555), NOW)
    assert status(s) is Status.APPROVED

    s.receive()

    assert status(s) is Status.CLOSED


def test_a_cheaper_exchange_closes_when_placed_and_the_difference_is_paid() -> None:
    s = scene(wish(resolution=exchange_for(MUG, Decimal("30.00"))))
    s.receive()

    s.rma.exchange_placed(UUID(int=555), NOW)
    assert status(s) is Status.RECEIVED

    s.answer()
    assert status(s) is Status.CLOSED
    assert [e.refunded_amount for e in events(s.rma, ev.ReturnClosed)] == [Decimal("22.00")]


def test_a_failed_exchange_keeps_the_return_open() -> None:
    s = scene(wish(resolution=exchange_for("LAMP-002-BLUE", Decimal("45.00"))))
    s.receive()

    s.rma.exchange_failed("out of stock", NOW)
    s.rma.exchange_placed(UUID(int=555), NOW)

    assert s.rma.exchange is not None
    assert (s.rma.exchange.status, s.rma.exchange.reason) == ("failed", "out of stock")
    assert status(s) is Status.RECEIVED
    assert names(s.rma)[-1] == "exchange_failed"


def test_an_exchange_answered_twice_changes_nothing() -> None:
    s = scene(wish(resolution=exchange_for("LAMP-002-BLUE", Decimal("45.00"))))
    s.receive()
    s.rma.exchange_placed(UUID(int=555), NOW)
    sent, steps = len(s.rma.events), len(s.rma.timeline)

    s.rma.exchange_placed(UUID(int=556), NOW)
    s.rma.exchange_failed("late", NOW)

    assert s.rma.exchange is not None and s.rma.exchange.order_id == UUID(int=555)
    assert (len(s.rma.events), len(s.rma.timeline)) == (sent, steps)


def test_answers_about_an_exchange_a_refund_never_had_change_nothing() -> None:
    s = scene()

    s.rma.exchange_placed(UUID(int=555), NOW)
    s.rma.exchange_failed("no such exchange", NOW)

    assert s.rma.exchange is None
    assert names(s.rma) == ["requested", "approved"]


# --- closing ------------------------------------------------------------------------------


def test_a_partly_received_return_stays_open_though_its_refunds_are_paid() -> None:
    s = scene()
    s.receive((LAMP_LINE, 1, RESELLABLE))

    s.answer()

    assert status(s) is Status.PARTIALLY_RECEIVED
    assert events(s.rma, ev.ReturnClosed) == []


def test_a_received_return_waits_for_its_refunds_to_be_paid() -> None:
    s = scene()
    s.receive((LAMP_LINE, 1, RESELLABLE))
    s.receive((LAMP_LINE, 1, RESELLABLE))
    assert status(s) is Status.RECEIVED

    s.answer()
    assert status(s) is Status.RECEIVED

    s.answer(at=NOW + timedelta(days=1))
    assert status(s) is Status.CLOSED
    closes = events(s.rma, ev.ReturnClosed)
    assert [(e.refunded_amount, e.currency, e.closed_at) for e in closes] == [
        (Decimal("82.00"), "EUR", NOW + timedelta(days=1))
    ]
    assert not s.rma.is_open


def test_refunded_on_approval_and_paid_before_the_goods_arrive_closes_at_the_last_receipt() -> None:
    s = scene(the_policy=policy(refund_timing=ON_APPROVAL))
    s.answer()
    s.drop_off()

    s.receive((LAMP_LINE, 1, RESELLABLE))
    assert status(s) is Status.PARTIALLY_RECEIVED

    s.receive((LAMP_LINE, 1, RESELLABLE))
    assert status(s) is Status.CLOSED


def test_a_failed_refund_keeps_the_received_return_open() -> None:
    s = scene()
    s.receive()

    s.answer(ok=False)

    assert status(s) is Status.RECEIVED
    assert s.rma.is_open
    assert events(s.rma, ev.ReturnClosed) == []


def test_a_closed_return_is_closed_once() -> None:
    s = closed()

    s.answer(refund_id=s.rma.refunds[0].id)
    s.rma.exchange_placed(UUID(int=555), NOW)

    assert len(events(s.rma, ev.ReturnClosed)) == 1


# --- the timeline -------------------------------------------------------------------------


def test_the_timeline_records_every_step_of_a_return() -> None:
    day = timedelta(days=1)
    s = reviewed()
    s.approve(NOW + day)
    s.drop_off(NOW + 2 * day)
    s.receive((LAMP_LINE, 1, RESELLABLE), at=NOW + 4 * day)
    s.answer(ok=False, at=NOW + 5 * day)
    s.receive((LAMP_LINE, 1, DAMAGED), at=NOW + 6 * day)
    s.answer(at=NOW + 7 * day)

    assert [(e.at - NOW, e.name) for e in s.rma.timeline] == [
        (0 * day, "requested"),
        (1 * day, "approved"),
        (2 * day, "in_transit"),
        (4 * day, "received"),
        (4 * day, "refund_requested"),
        (5 * day, "refund_failed"),
        (6 * day, "received"),
        (6 * day, "refund_requested"),
        (7 * day, "refunded"),
    ]
    assert s.rma.updated_at == NOW + 7 * day
    assert s.rma.created_at == NOW
    assert [e.detail for e in s.rma.timeline][3:5] == [
        "at WH-BER: 1 resellable → restock",
        "41.00",
    ]


def test_the_timeline_of_a_closed_return_ends_refunded_and_closed() -> None:
    s = closed()

    assert names(s.rma) == [
        "requested",
        "approved",
        "in_transit",
        "received",
        "refund_requested",
        "refunded",
        "refunded",
        "closed",
    ]
    assert [e.detail for e in s.rma.timeline][-3:] == [
        "82.00 (payment)",
        "82.00 in all",
        "every unit back and settled",
    ]


def test_every_event_names_the_order_and_the_return() -> None:
    s = scene(wish(resolution=exchange_for(MUG, Decimal("30.00"))))
    s.drop_off()
    s.receive()
    s.answer()
    s.rma.exchange_placed(UUID(int=555), NOW)

    assert {type(e).__name__ for e in published(s.rma)} == {
        "ReturnRequested",
        "ReturnApproved",
        "ReturnReceived",
        "ExchangeOrderRequested",
        "RefundRequested",
        "ReturnRefunded",
        "ReturnClosed",
    }
    for e in published(s.rma):
        assert e.partition_key == str(s.order.order_id)
        assert e.model_dump()["return_id"] == str(RETURN_ID)


def test_refunded_on_drop_off_a_return_brought_straight_in_is_refunded_on_receipt() -> None:
    s = scene(the_policy=policy(refund_timing=ON_DROP_OFF))

    s.receive((LAMP_LINE, 1, RESELLABLE))  # no carrier scan came: the receipt is the proof

    assert [e.amount for e in s.requested()] == [Decimal("82.00")]


def test_a_late_drop_off_after_the_goods_arrived_is_a_harmless_repeat() -> None:
    s = scene()
    s.receive()
    before = len(s.rma.timeline)

    s.drop_off()

    assert len(s.rma.timeline) == before


def test_an_exchange_received_in_parts_asks_for_one_replacement_once_all_is_back() -> None:
    s = scene(wish(resolution=exchange_for("LAMP-001-XL")))

    s.receive((LAMP_LINE, 1, RESELLABLE))
    assert events(s.rma, ev.ExchangeOrderRequested) == []
    s.receive((LAMP_LINE, 1, RESELLABLE))

    (asked,) = events(s.rma, ev.ExchangeOrderRequested)
    assert asked.quantity == 2


def test_a_failed_refund_is_asked_for_again_and_then_the_return_closes() -> None:
    s = scene()
    s.receive()
    failed = s.answer(ok=False, reason="card expired")
    assert names(s.rma)[-1] == "refund_failed" and s.rma.is_open  # money is still owed

    s.rma.retry_refunds(s.order, s.credits, NOW)

    first, second = s.requested()
    assert (second.amount, second.refund_id != failed) == (first.amount, True)
    s.answer()
    assert s.rma.status is Status.CLOSED
    assert s.rma.refunded_amount == first.amount
    assert s.credits.amount == first.amount


def test_retrying_without_a_failed_refund_is_refused() -> None:
    s = scene()
    s.receive()

    with pytest.raises(ActionNotAllowed):
        s.rma.retry_refunds(s.order, s.credits, NOW)


def test_a_failed_price_difference_of_an_exchange_is_asked_for_again() -> None:
    s = scene(wish(resolution=exchange_for(MUG, Decimal("30.00"))))
    s.receive()
    (difference,) = s.requested()
    s.answer(ok=False)

    s.rma.retry_refunds(s.order, s.credits, NOW)

    assert [e.amount for e in s.requested()] == [difference.amount, difference.amount]
