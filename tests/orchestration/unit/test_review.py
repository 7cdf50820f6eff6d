"""Manual review: which rules hold an order (and why, in words), and what approving and
rejecting it do."""

from __future__ import annotations

from decimal import Decimal

import pytest

from libs.contracts import orchestration as orch
from services.orchestration.adapters import review_rules
from services.orchestration.adapters.simulated_fraud import SimulatedFraudCheck
from services.orchestration.domain.errors import NotInReview
from services.orchestration.domain.review import (
    OrderFacts,
    ReviewRules,
    customer_key,
    reasons_for_review,
)
from services.orchestration.domain.saga import HoldReason, SagaState
from tests.orchestration.unit.test_saga import NOW, events, started, state

FACTS = OrderFacts(
    grand_total=Decimal("1200.00"),
    currency="EUR",
    ship_to_country="DE",
    billing_country="FR",
    risk_score=85,
    new_customer=True,
    address_problems=("postal code 'ABC' is not a DE postal code", "city missing"),
)


def test_no_rule_reviews_anything_until_it_is_given_a_value() -> None:
    assert reasons_for_review(FACTS, ReviewRules()) == []


def test_each_rule_that_matches_says_why() -> None:
    rules = ReviewRules(
        max_order_value=Decimal("1000"),
        countries_must_match=True,
        max_risk_score=80,
        new_customer_max_value=Decimal("500"),
        hold_invalid_addresses=True,
    )

    assert reasons_for_review(FACTS, rules) == [
        "order value 1200.00 EUR above 1000",
        "billed in FR but shipped to DE",
        "risk score 85 above 80",
        "new customer's first order 1200.00 EUR above 500",
        "address failed validation: postal code 'ABC' is not a DE postal code, city missing",
    ]


@pytest.mark.parametrize(
    "rules",
    [
        ReviewRules(max_order_value=Decimal("1200.00")),  # at the limit is not above it
        ReviewRules(max_risk_score=85),
        ReviewRules(new_customer_max_value=Decimal("1200.00")),
    ],
)
def test_a_value_at_its_limit_passes(rules: ReviewRules) -> None:
    assert reasons_for_review(FACTS, rules) == []


def test_matching_countries_or_no_billing_country_pass_the_country_rule() -> None:
    rules = ReviewRules(countries_must_match=True)
    for billing in ("DE", None):
        facts = OrderFacts(Decimal("10"), "EUR", "DE", billing)
        assert reasons_for_review(facts, rules) == []


def test_the_new_customer_rule_looks_only_at_a_first_order_above_its_value() -> None:
    rules = ReviewRules(new_customer_max_value=Decimal("100"))
    known = OrderFacts(Decimal("1200.00"), "EUR", "DE", None, new_customer=False)
    new_and_small = OrderFacts(Decimal("99.99"), "EUR", "DE", None, new_customer=True)
    new_and_large = OrderFacts(Decimal("100.01"), "EUR", "DE", None, new_customer=True)

    assert reasons_for_review(known, rules) == []
    assert reasons_for_review(new_and_small, rules) == []
    assert reasons_for_review(new_and_large, rules) == [
        "new customer's first order 100.01 EUR above 100"
    ]


def test_a_zero_value_reviews_every_first_order_of_some_value() -> None:
    rules = ReviewRules(new_customer_max_value=Decimal("0"))

    assert reasons_for_review(
        OrderFacts(Decimal("0.01"), "EUR", "DE", None, new_customer=True), rules
    )
    assert not reasons_for_review(
        OrderFacts(Decimal("0"), "EUR", "DE", None, new_customer=True), rules
    )


def test_the_address_rule_holds_only_an_address_with_problems_and_only_when_on() -> None:
    bad = OrderFacts(Decimal("10"), "EUR", "DE", None, address_problems=("city missing",))
    fine = OrderFacts(Decimal("10"), "EUR", "DE", None)

    assert reasons_for_review(bad, ReviewRules(hold_invalid_addresses=True)) == [
        "address failed validation: city missing"
    ]
    assert reasons_for_review(fine, ReviewRules(hold_invalid_addresses=True)) == []
    assert reasons_for_review(bad, ReviewRules()) == []


def test_a_customer_is_known_by_the_e_mail_address_whatever_its_case() -> None:
    assert customer_key(" Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    assert customer_key("") == ""


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


def test_rules_kept_before_the_new_rules_existed_read_with_them_off() -> None:
    kept = {"max_order_value": "1000", "countries_must_match": True, "max_risk_score": None}
    rules = review_rules.from_dict(3, kept)
    assert (rules.new_customer_max_value, rules.hold_invalid_addresses) == (None, False)

    every = ReviewRules(
        version=4, new_customer_max_value=Decimal("250.00"), hold_invalid_addresses=True
    )
    assert review_rules.from_dict(4, review_rules.to_dict(every)) == every
