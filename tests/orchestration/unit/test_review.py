"""Manual review: which rules hold an order (and why, in words), and what approving and
rejecting it do."""

from __future__ import annotations

from decimal import Decimal

import pytest

from libs.contracts import orchestration as orch
from services.orchestration.adapters.simulated_fraud import SimulatedFraudCheck
from services.orchestration.domain.errors import NotInReview
from services.orchestration.domain.review import OrderFacts, ReviewRules, reasons_for_review
from services.orchestration.domain.saga import HoldReason, SagaState
from tests.orchestration.unit.test_saga import NOW, events, started, state

FACTS = OrderFacts(
    grand_total=Decimal("1200.00"),
    currency="EUR",
    ship_to_country="DE",
    billing_country="FR",
    risk_score=85,
)


def test_no_rule_reviews_anything_until_it_is_given_a_value() -> None:
    assert reasons_for_review(FACTS, ReviewRules()) == []


def test_each_rule_that_matches_says_why() -> None:
    rules = ReviewRules(
        max_order_value=Decimal("1000"), countries_must_match=True, max_risk_score=80
    )

    assert reasons_for_review(FACTS, rules) == [
        "order value 1200.00 EUR above 1000",
        "billed in FR but shipped to DE",
        "risk score 85 above 80",
    ]


@pytest.mark.parametrize(
    "rules",
    [
        ReviewRules(max_order_value=Decimal("1200.00")),  # at the limit is not above it
        ReviewRules(max_risk_score=85),
    ],
)
def test_a_value_at_its_limit_passes(rules: ReviewRules) -> None:
    assert reasons_for_review(FACTS, rules) == []


def test_matching_countries_or_no_billing_country_pass_the_country_rule() -> None:
    rules = ReviewRules(countries_must_match=True)
    for billing in ("DE", None):
        facts = OrderFacts(Decimal("10"), "EUR", "DE", billing)
        assert reasons_for_review(facts, rules) == []


async def test_the_simulated_fraud_check_scores_risky_addresses_high_and_others_steadily() -> None:
    check = SimulatedFraudCheck()
    risky = await check.score(
        order_id="o", customer_email="risky.buyer@x.com", grand_total=Decimal(1)
    )
    first = await check.score(order_id="o", customer_email="ada@x.com", grand_total=Decimal(1))
    again = await check.score(order_id="p", customer_email="ada@x.com", grand_total=Decimal(1))

    assert risky == 95
    assert first == again < 30


def test_approving_routes_the_order_and_releases_its_review_hold() -> None:
    saga = started()
    saga.put_on_hold(HoldReason.REVIEW, "risk score 85 above 80", NOW)
    hold_id = saga.hold.id if saga.hold else ""

    saga.approve("called the customer", NOW)

    assert (state(saga), saga.due_at) == (SagaState.ROUTING, NOW)
    (released,) = events(saga, orch.OrderHoldReleased)
    assert (released.hold_id, released.reason_code) == (hold_id, "review")
    assert released.reason == "approved in review: called the customer"


def test_rejecting_stops_the_order_and_tells_order_capture_why() -> None:
    saga = started()
    saga.put_on_hold(HoldReason.REVIEW, "risk score 85 above 80", NOW)
    hold_id = saga.hold.id if saga.hold else ""

    saga.reject("card holder unreachable", NOW)

    assert state(saga) is SagaState.CANCELLED
    assert saga.cancelled == {"L1": 2, "L2": 1}
    (rejected,) = events(saga, orch.OrderRejected)
    assert (rejected.hold_id, rejected.reason) == (hold_id, "card holder unreachable")
    assert saga.new_operations == []  # nothing was charged


@pytest.mark.parametrize("hold", [None, HoldReason.MANUAL, HoldReason.PAYMENT_DECLINED])
def test_approving_or_rejecting_an_order_not_in_review_is_refused(
    hold: HoldReason | None,
) -> None:
    saga = started()
    if hold is not None:
        saga.put_on_hold(hold, "", NOW)
    before = state(saga)

    with pytest.raises(NotInReview):
        saga.approve("", NOW)
    with pytest.raises(NotInReview):
        saga.reject("no", NOW)

    assert state(saga) is before
