"""What a return is worth: each unit's share of what was paid for its line (discount and tax
included, rounded on the running total so the parts of a line add up to exactly its total),
less the restocking fee for its reason, plus the order's shipping once for the policy's
reasons, less the return shipping a paying customer owes, and never more than is left of what
the customer paid.

Pure: quotes are computed against a hand-built order and its credits.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.money import round_to_currency
from services.returns.domain.money import OrderCredits, Quote, quote
from services.returns.domain.order import KnownOrder, OrderLine
from services.returns.domain.policy import MERCHANT_FAULT, Reason, ReturnPolicy
from tests.returns.unit.builders import (
    GRAND_TOTAL,
    LAMP_LINE,
    LAMP_TOTAL,
    MUG_LINE,
    MUG_TOTAL,
    SHIPPING,
    lamp_line,
    make_order,
    mug_line,
    policy,
)

ZERO = Decimal("0")


def worth(
    units: Mapping[UUID, tuple[int, Reason]],
    *,
    order: KnownOrder | None = None,
    credits: OrderCredits | None = None,
    the_policy: ReturnPolicy | None = None,
    charge: bool = False,
) -> Quote:
    return quote(
        order or make_order(),
        credits if credits is not None else OrderCredits(),
        the_policy or policy(),
        units,
        charge_return_shipping=charge,
    )


def taken(q: Quote, credits: OrderCredits) -> Quote:
    """The quote, counted in the order's credits (as settling it does)."""
    credits.take(q)
    return q


def split(line: OrderLine, parts: list[int], currency: str = "EUR") -> list[Decimal]:
    """The values of a line returned in these parts, one after the other."""
    values, before = [], 0
    for n in parts:
        values.append(line.value_of_units(before, n, currency))
        before += n
    return values


# --- a line's units -----------------------------------------------------------------------


def test_a_whole_line_is_worth_its_price_less_discount_plus_tax() -> None:
    assert lamp_line().total == LAMP_TOTAL
    assert lamp_line().value_of_units(0, 2, "EUR") == LAMP_TOTAL
    assert mug_line().value_of_units(0, 3, "EUR") == MUG_TOTAL


def test_a_line_that_does_not_divide_evenly_is_split_without_losing_a_cent() -> None:
    assert split(mug_line(), [1, 1, 1]) == [
        Decimal("10.37"),
        Decimal("10.36"),
        Decimal("10.37"),
    ]


@pytest.mark.parametrize(
    "parts",
    [[7], [1] * 7, [1, 2, 4], [4, 2, 1], [3, 3, 1], [2, 5], [1, 1, 5], [6, 1]],
    ids=str,
)
@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD"])
def test_the_parts_of_a_line_always_add_up_to_its_total(parts: list[int], currency: str) -> None:
    line = OrderLine(
        UUID(int=7),
        "ODD-7",
        7,
        unit_price=Decimal("13.99"),
        discount_amount=Decimal("3.33"),
        tax_amount=Decimal("18.02"),
    )

    values = split(line, parts, currency)

    assert sum(values, ZERO) == round_to_currency(line.total, currency)
    assert all(v >= 0 for v in values)


def test_a_currency_without_cents_splits_in_whole_units() -> None:
    line = OrderLine(
        UUID(int=1), "TEA-1", 3, unit_price=Decimal("400"), discount_amount=Decimal("200")
    )

    assert split(line, [1, 1, 1], "JPY") == [Decimal("333"), Decimal("334"), Decimal("333")]


@given(
    quantity=st.integers(1, 25),
    unit_cents=st.integers(1, 100_000),
    discount_percent=st.integers(0, 100),
    tax_cents=st.integers(0, 50_000),
    data=st.data(),
)
@settings(max_examples=300, deadline=None)
def test_any_split_of_a_line_adds_up_to_exactly_its_total(
    quantity: int, unit_cents: int, discount_percent: int, tax_cents: int, data: st.DataObject
) -> None:
    gross = unit_cents * quantity
    discount_cents = gross * discount_percent // 100
    line = OrderLine(
        UUID(int=1),
        "ANY-1",
        quantity,
        unit_price=Decimal(unit_cents) / 100,
        discount_amount=Decimal(discount_cents) / 100,
        tax_amount=Decimal(tax_cents) / 100,
    )
    parts, left = [], quantity
    while left:
        n = data.draw(st.integers(1, left))
        parts.append(n)
        left -= n

    values = split(line, parts)

    assert sum(values, ZERO) == line.total
    assert all(v >= 0 for v in values)


# --- a quote ------------------------------------------------------------------------------


def test_units_are_priced_after_those_already_credited_to_the_order() -> None:
    credits = OrderCredits()
    first = taken(worth({MUG_LINE: (1, Reason.CHANGED_MIND)}, credits=credits), credits)
    second = taken(worth({MUG_LINE: (1, Reason.CHANGED_MIND)}, credits=credits), credits)
    third = taken(worth({MUG_LINE: (1, Reason.CHANGED_MIND)}, credits=credits), credits)

    assert [first.amount, second.amount, third.amount] == [
        Decimal("10.37"),
        Decimal("10.36"),
        Decimal("10.37"),
    ]
    assert credits.units == {MUG_LINE: 3}
    assert credits.amount == MUG_TOTAL


def test_a_restocking_fee_is_kept_for_its_reason_only() -> None:
    the_policy = policy(restocking_fee_percent={Reason.CHANGED_MIND: Decimal("15")})

    changed_mind = worth({LAMP_LINE: (1, Reason.CHANGED_MIND)}, the_policy=the_policy)
    damaged = worth({LAMP_LINE: (1, Reason.DAMAGED)}, the_policy=the_policy)

    assert changed_mind.lines[0].value == Decimal("41.00")
    assert changed_mind.lines[0].fee == Decimal("6.15")
    assert changed_mind.amount == Decimal("34.85")
    assert damaged.lines[0].fee == ZERO
    assert damaged.amount == Decimal("41.00") + SHIPPING


def test_a_restocking_fee_is_rounded_to_the_cent() -> None:
    the_policy = policy(restocking_fee_percent={Reason.SIZE_FIT: Decimal("12.5")})

    q = worth({MUG_LINE: (1, Reason.SIZE_FIT)}, the_policy=the_policy)

    # 12.5 % of 10.37 is 1.29625
    assert q.lines[0].fee == Decimal("1.30")
    assert q.amount == Decimal("9.07")


def test_each_line_pays_the_fee_of_its_own_reason() -> None:
    the_policy = policy(
        restocking_fee_percent={Reason.CHANGED_MIND: Decimal("10"), Reason.SIZE_FIT: Decimal("5")}
    )

    q = worth(
        {LAMP_LINE: (2, Reason.CHANGED_MIND), MUG_LINE: (3, Reason.SIZE_FIT)},
        the_policy=the_policy,
    )

    assert {ln.line_id: ln.fee for ln in q.lines} == {
        LAMP_LINE: Decimal("8.20"),
        MUG_LINE: Decimal("1.56"),
    }
    assert q.amount == LAMP_TOTAL + MUG_TOTAL - Decimal("9.76")


@pytest.mark.parametrize("reason", sorted(MERCHANT_FAULT))
def test_the_orders_shipping_goes_back_when_the_merchant_is_at_fault(reason: Reason) -> None:
    q = worth({MUG_LINE: (1, reason)})

    assert q.shipping == SHIPPING
    assert q.amount == Decimal("10.37") + SHIPPING


@pytest.mark.parametrize("reason", [Reason.CHANGED_MIND, Reason.SIZE_FIT, Reason.OTHER])
def test_the_orders_shipping_stays_when_the_customer_changed_their_mind(reason: Reason) -> None:
    assert worth({MUG_LINE: (1, reason)}).shipping == ZERO


def test_one_merchant_fault_line_is_enough_to_pay_the_shipping_back() -> None:
    q = worth({LAMP_LINE: (1, Reason.CHANGED_MIND), MUG_LINE: (1, Reason.WRONG_ITEM)})

    assert q.shipping == SHIPPING


def test_the_policy_names_the_reasons_that_pay_the_shipping_back() -> None:
    the_policy = policy(refund_shipping_for=frozenset({Reason.SIZE_FIT}))

    assert worth({MUG_LINE: (1, Reason.SIZE_FIT)}, the_policy=the_policy).shipping == SHIPPING
    assert worth({MUG_LINE: (1, Reason.DAMAGED)}, the_policy=the_policy).shipping == ZERO


def test_the_orders_shipping_goes_back_once_per_order() -> None:
    credits = OrderCredits()
    first = taken(worth({MUG_LINE: (1, Reason.DAMAGED)}, credits=credits), credits)
    second = taken(worth({MUG_LINE: (1, Reason.DAMAGED)}, credits=credits), credits)

    assert first.shipping == SHIPPING
    assert credits.shipping_refunded
    assert second.shipping == ZERO


def test_a_refund_given_back_lets_the_shipping_go_back_again() -> None:
    credits = OrderCredits()
    first = taken(worth({MUG_LINE: (1, Reason.DAMAGED)}, credits=credits), credits)

    credits.give_back(first)
    again = worth({MUG_LINE: (1, Reason.DAMAGED)}, credits=credits)

    assert credits == OrderCredits(units={MUG_LINE: 0}, amount=ZERO, shipping_refunded=False)
    assert again == first


def test_an_order_without_shipping_pays_none_back() -> None:
    order = make_order(shipping=ZERO)

    q = worth({MUG_LINE: (1, Reason.DAMAGED)}, order=order)

    assert q.shipping == ZERO
    assert q.amount == Decimal("10.37")


def test_the_return_shipping_fee_is_kept_when_the_customer_pays() -> None:
    the_policy = policy(return_shipping_fee=Decimal("5.95"))

    charged = worth({LAMP_LINE: (1, Reason.CHANGED_MIND)}, the_policy=the_policy, charge=True)
    free = worth({LAMP_LINE: (1, Reason.CHANGED_MIND)}, the_policy=the_policy, charge=False)

    assert charged.return_shipping == Decimal("5.95")
    assert charged.amount == Decimal("35.05")
    assert free.return_shipping == ZERO
    assert free.amount == Decimal("41.00")


def test_a_return_worth_less_than_its_fees_comes_to_nothing_never_below() -> None:
    the_policy = policy(
        return_shipping_fee=Decimal("15.00"),
        restocking_fee_percent={Reason.CHANGED_MIND: Decimal("20")},
    )

    q = worth({MUG_LINE: (1, Reason.CHANGED_MIND)}, the_policy=the_policy, charge=True)

    # 10.37 less 2.07 restocking leaves 8.30: only that much of the 15.00 can be kept.
    assert q.amount == ZERO
    assert q.return_shipping == Decimal("8.30")
    assert q.capped == ZERO


def test_no_more_goes_back_than_is_left_of_what_was_paid() -> None:
    credits = OrderCredits(units={LAMP_LINE: 2}, amount=GRAND_TOTAL - Decimal("20.00"))

    q = worth({MUG_LINE: (3, Reason.DAMAGED)}, credits=credits)

    assert q.capped == MUG_TOTAL + SHIPPING - Decimal("20.00")
    assert q.amount == Decimal("20.00")


def test_an_order_level_discount_caps_the_last_refund_at_the_grand_total() -> None:
    # 10.00 off the whole order, not attributed to any line.
    order = make_order(total=GRAND_TOTAL - Decimal("10.00"))
    credits = OrderCredits()

    lamps = taken(worth({LAMP_LINE: (2, Reason.DAMAGED)}, order=order, credits=credits), credits)
    mugs = taken(worth({MUG_LINE: (3, Reason.DAMAGED)}, order=order, credits=credits), credits)

    assert lamps.capped == ZERO
    assert mugs.capped == Decimal("10.00")
    assert credits.amount == order.grand_total


def test_a_fully_credited_order_quotes_nothing_more() -> None:
    credits = OrderCredits(units={}, amount=GRAND_TOTAL)

    q = worth({MUG_LINE: (1, Reason.CHANGED_MIND)}, credits=credits)

    assert q.amount == ZERO
    assert q.capped == Decimal("10.37")


def test_returning_everything_for_the_merchants_fault_pays_back_the_grand_total() -> None:
    q = worth({LAMP_LINE: (2, Reason.DAMAGED), MUG_LINE: (3, Reason.DAMAGED)})

    assert q.amount == GRAND_TOTAL
    assert q.capped == ZERO


def test_lines_the_order_does_not_have_and_empty_lines_are_ignored() -> None:
    q = worth({UUID(int=99): (1, Reason.CHANGED_MIND), MUG_LINE: (0, Reason.CHANGED_MIND)})

    assert q.lines == ()
    assert q.amount == ZERO


def test_a_quote_adds_an_exchanges_difference_paid_back() -> None:
    assert Quote((), adjustment=Decimal("7.50")).amount == Decimal("7.50")


def test_a_quote_is_stored_as_strings() -> None:
    the_policy = policy(
        restocking_fee_percent={Reason.CHANGED_MIND: Decimal("10")},
        return_shipping_fee=Decimal("3.00"),
    )

    q = worth({LAMP_LINE: (1, Reason.CHANGED_MIND)}, the_policy=the_policy, charge=True)

    assert q.as_dict() == {
        "lines": [{"line_id": str(LAMP_LINE), "units": 1, "value": "41.00", "fee": "4.10"}],
        "shipping": "0",
        "return_shipping": "3.00",
        "capped": "0",
        "adjustment": "0",
        "amount": "33.90",
    }


def test_credits_count_units_and_money_and_give_both_back() -> None:
    credits = OrderCredits()
    q = worth({LAMP_LINE: (1, Reason.DAMAGED), MUG_LINE: (2, Reason.DAMAGED)})

    credits.take(q)

    assert credits.units == {LAMP_LINE: 1, MUG_LINE: 2}
    assert credits.amount == Decimal("41.00") + Decimal("20.73") + SHIPPING
    assert credits.shipping_refunded

    credits.give_back(q)

    assert credits.units == {LAMP_LINE: 0, MUG_LINE: 0}
    assert credits.amount == ZERO
    assert not credits.shipping_refunded


# --- properties ---------------------------------------------------------------------------


@st.composite
def returns_of_an_order(
    draw: st.DrawFn,
) -> tuple[KnownOrder, ReturnPolicy, list[tuple[dict[UUID, tuple[int, Reason]], bool]]]:
    """An order, a policy, and its units returned in any number of parts with any reasons."""
    lines = [
        OrderLine(
            UUID(int=i + 1),
            f"SKU-{i}",
            quantity := draw(st.integers(1, 6)),
            unit_price=(price := Decimal(draw(st.integers(1, 20_000))) / 100),
            discount_amount=Decimal(draw(st.integers(0, int(price * quantity * 100)))) / 100,
            tax_amount=Decimal(draw(st.integers(0, 5_000))) / 100,
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    shipping = Decimal(draw(st.integers(0, 1_500))) / 100
    order_discount = Decimal(draw(st.integers(0, 1_000))) / 100
    paid = max(ZERO, sum((ln.total for ln in lines), ZERO) + shipping - order_discount)
    order = make_order(lines, shipping=shipping, total=paid)
    reasons = st.sampled_from(list(Reason))
    the_policy = policy(
        restocking_fee_percent=draw(
            st.dictionaries(reasons, st.integers(0, 100).map(Decimal), max_size=3)
        ),
        return_shipping_fee=Decimal(draw(st.integers(0, 1_000))) / 100,
        refund_shipping_for=frozenset(draw(st.sets(reasons))),
    )
    left = {ln.line_id: ln.quantity for ln in lines}
    parts = []
    while any(left.values()):
        open_lines = [line_id for line_id, n in left.items() if n]
        first = draw(st.sampled_from(open_lines))
        part: dict[UUID, tuple[int, Reason]] = {}
        for line_id in open_lines:
            if line_id == first or draw(st.booleans()):
                part[line_id] = (draw(st.integers(1, left[line_id])), draw(reasons))
        for line_id, (n, _) in part.items():
            left[line_id] -= n
        parts.append((part, draw(st.booleans())))
    return order, the_policy, parts


@given(returns_of_an_order())
@settings(max_examples=300, deadline=None)
def test_partial_refunds_never_add_up_to_more_than_was_paid(
    case: tuple[KnownOrder, ReturnPolicy, list[tuple[dict[UUID, tuple[int, Reason]], bool]]],
) -> None:
    order, the_policy, parts = case
    credits = OrderCredits()
    values: dict[UUID, Decimal] = {}

    for units, charge in parts:
        q = taken(
            worth(units, order=order, credits=credits, the_policy=the_policy, charge=charge),
            credits,
        )
        assert q.amount >= 0
        assert credits.amount <= order.grand_total
        for ln in q.lines:
            values[ln.line_id] = values.get(ln.line_id, ZERO) + ln.value
            assert ZERO <= ln.fee <= ln.value

    for line in order.lines:
        assert values[line.line_id] == line.total
    assert credits.units == {ln.line_id: ln.quantity for ln in order.lines}


@given(returns_of_an_order())
@settings(max_examples=200, deadline=None)
def test_without_fees_the_merchants_fault_pays_back_exactly_what_was_paid(
    case: tuple[KnownOrder, ReturnPolicy, list[tuple[dict[UUID, tuple[int, Reason]], bool]]],
) -> None:
    order, _, parts = case
    credits = OrderCredits()

    for units, _charge in parts:
        damaged = {line_id: (n, Reason.DAMAGED) for line_id, (n, _) in units.items()}
        taken(worth(damaged, order=order, credits=credits), credits)

    assert credits.amount == order.grand_total
