"""The return policy: its defaults (the merchant's fault ships back free), its answers (who
pays, which fee, whether a person looks, where a condition goes) and its stored form."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.returns.domain.policy import (
    MERCHANT_FAULT,
    Condition,
    Disposition,
    Payer,
    Reason,
    RefundTiming,
    ReturnPolicy,
)


def test_by_default_the_merchant_pays_for_its_own_faults_and_the_customer_for_the_rest() -> None:
    p = ReturnPolicy()

    assert {r for r in Reason if p.payer(frozenset({r})) is Payer.MERCHANT} == MERCHANT_FAULT
    assert p.payer(frozenset()) is Payer.CUSTOMER
    assert p.refund_shipping_for == MERCHANT_FAULT
    assert p.refund_timing is RefundTiming.ON_RECEIPT


def test_a_reason_without_a_fee_costs_nothing() -> None:
    p = ReturnPolicy(restocking_fee_percent={Reason.CHANGED_MIND: Decimal("10")})

    assert p.fee_percent(Reason.CHANGED_MIND) == Decimal("10")
    assert p.fee_percent(Reason.DAMAGED) == Decimal("0")


def test_a_person_looks_at_a_reviewed_reason_or_a_return_worth_more_than_the_amount() -> None:
    p = ReturnPolicy(
        review_reasons=frozenset({Reason.OTHER}), review_above_amount=Decimal("100.00")
    )

    assert p.needs_review(frozenset({Reason.OTHER, Reason.SIZE_FIT}), Decimal("1.00"))
    assert p.needs_review(frozenset({Reason.SIZE_FIT}), Decimal("100.01"))
    assert not p.needs_review(frozenset({Reason.SIZE_FIT}), Decimal("100.00"))
    assert not ReturnPolicy().needs_review(frozenset(Reason), Decimal("1000000"))


@pytest.mark.parametrize(
    ("condition", "fallback"),
    [
        (Condition.RESELLABLE, Disposition.RESTOCK),
        (Condition.DAMAGED, Disposition.QUARANTINE),
        (Condition.DEFECTIVE, Disposition.QUARANTINE),
    ],
)
def test_a_condition_the_policy_does_not_name_is_restocked_only_when_resellable(
    condition: Condition, fallback: Disposition
) -> None:
    assert ReturnPolicy(disposition={}).disposition_of(condition) is fallback


def test_a_policy_survives_its_stored_form() -> None:
    p = ReturnPolicy(
        version=4,
        window_days=14,
        non_returnable_skus=frozenset({"GIFT-CARD", "SOCKS"}),
        non_returnable_tags=frozenset({"final-sale"}),
        restocking_fee_percent={Reason.CHANGED_MIND: Decimal("12.5")},
        return_shipping_payer={Reason.SIZE_FIT: Payer.MERCHANT, Reason.OTHER: Payer.CUSTOMER},
        return_shipping_fee=Decimal("5.95"),
        refund_shipping_for=frozenset({Reason.DAMAGED}),
        refund_timing=RefundTiming.ON_DROP_OFF,
        max_returns_per_order=2,
        review_reasons=frozenset({Reason.OTHER, Reason.NOT_AS_DESCRIBED}),
        review_above_amount=Decimal("250.00"),
        disposition={Condition.DAMAGED: Disposition.QUARANTINE},
        return_carrier="UPS",
        return_service="returns-ground",
    )

    assert ReturnPolicy.from_dict(p.to_dict(), version=4) == p


def test_the_default_policy_survives_its_stored_form_under_a_new_version() -> None:
    stored = ReturnPolicy().to_dict()

    again = ReturnPolicy.from_dict(stored, version=9)

    assert again.version == 9
    assert again.review_above_amount is None
    assert again.to_dict() == stored
    assert "version" not in stored
