"""What a return is worth: per line, the unit price less its share of the discounts plus its
share of the tax, less the restocking fee for its reason; the order's shipping when the policy
pays it back; less the return shipping the customer pays. Never more than is left of what the
customer paid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from libs.money import round_to_currency
from services.returns.domain.order import KnownOrder
from services.returns.domain.policy import Reason, ReturnPolicy

ZERO = Decimal("0")


@dataclass(frozen=True)
class QuotedLine:
    line_id: UUID
    units: int
    value: Decimal  # the units' share of what was paid for the line
    fee: Decimal  # restocking fee kept


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuotedLine, ...]
    shipping: Decimal = ZERO  # the order's own shipping paid back
    return_shipping: Decimal = ZERO  # kept for the return parcel
    capped: Decimal = ZERO  # cut so no more goes back than was paid
    adjustment: Decimal = ZERO  # an exchange's price difference paid back

    @property
    def amount(self) -> Decimal:
        lines = sum((ln.value - ln.fee for ln in self.lines), ZERO)
        return lines + self.shipping - self.return_shipping - self.capped + self.adjustment

    def as_dict(self) -> dict[str, object]:
        return {
            "lines": [
                {
                    "line_id": str(q.line_id),
                    "units": q.units,
                    "value": str(q.value),
                    "fee": str(q.fee),
                }
                for q in self.lines
            ],
            "shipping": str(self.shipping),
            "return_shipping": str(self.return_shipping),
            "capped": str(self.capped),
            "adjustment": str(self.adjustment),
            "amount": str(self.amount),
        }


@dataclass
class OrderCredits:
    """What the order's returns have already been credited with, across all its returns:
    the basis of each next quote, so partial refunds add up and never exceed the payment."""

    units: dict[UUID, int] = field(default_factory=dict)  # line -> units credited
    amount: Decimal = ZERO  # money refunded or on its way (failed refunds given back)
    shipping_refunded: bool = False

    def take(self, quote: Quote) -> None:
        for q in quote.lines:
            self.units[q.line_id] = self.units.get(q.line_id, 0) + q.units
        self.amount += quote.amount
        self.shipping_refunded = self.shipping_refunded or quote.shipping > 0

    def give_back(self, quote: Quote) -> None:
        """A refund failed: its units and money may be credited again."""
        for q in quote.lines:
            self.units[q.line_id] = self.units.get(q.line_id, 0) - q.units
        self.amount -= quote.amount
        if quote.shipping > 0:
            self.shipping_refunded = False


def quote(
    order: KnownOrder,
    credits: OrderCredits,
    policy: ReturnPolicy,
    units: Mapping[UUID, tuple[int, Reason]],
    *,
    charge_return_shipping: bool,
) -> Quote:
    """The refund for these units (line -> (units, reason)) given what was credited before."""
    currency = order.currency
    lines = []
    for line_id, (n, reason) in units.items():
        line = order.line(line_id)
        if line is None or n <= 0:
            continue
        value = line.value_of_units(credits.units.get(line_id, 0), n, currency)
        fee = round_to_currency(value * policy.fee_percent(reason) / 100, currency)
        lines.append(QuotedLine(line_id, n, value, fee))
    reasons = {reason for _, reason in units.values()}
    shipping = ZERO
    if reasons & policy.refund_shipping_for and not credits.shipping_refunded:
        shipping = order.shipping_amount
    return_shipping = policy.return_shipping_fee if charge_return_shipping else ZERO
    draft = Quote(tuple(lines), shipping, return_shipping)
    if draft.amount < 0:  # the fee for the parcel is more than the units are worth
        return Quote(tuple(lines), shipping, return_shipping + draft.amount)
    left = order.grand_total - credits.amount
    return Quote(tuple(lines), shipping, return_shipping, max(ZERO, draft.amount - left))
