"""Money arithmetic of an order: every total is computed here, never taken from the client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from libs.money import minor_units

ZERO = Decimal("0")


def fits_currency(amount: Decimal, currency: str) -> bool:
    """True when the amount has no more decimals than the currency has minor units."""
    exponent = amount.normalize().as_tuple().exponent
    return not isinstance(exponent, int) or -exponent <= minor_units(currency)


class PricedLine(Protocol):
    @property
    def quantity(self) -> int: ...
    @property
    def unit_price(self) -> Decimal: ...
    @property
    def discount_amount(self) -> Decimal: ...
    @property
    def tax_amount(self) -> Decimal: ...


def line_subtotal(line: PricedLine) -> Decimal:
    return line.unit_price * line.quantity


def line_total(line: PricedLine) -> Decimal:
    """What the customer pays for the line: price times quantity, less discount, plus tax."""
    return line_subtotal(line) - line.discount_amount + line.tax_amount


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    shipping_amount: Decimal
    grand_total: Decimal

    def as_dict(self) -> dict[str, Decimal]:
        return {
            "subtotal": self.subtotal,
            "discount_total": self.discount_total,
            "tax_total": self.tax_total,
            "shipping_amount": self.shipping_amount,
            "grand_total": self.grand_total,
        }


def compute_totals(lines: Sequence[PricedLine], shipping_amount: Decimal) -> Totals:
    subtotal = sum((line_subtotal(ln) for ln in lines), ZERO)
    discount = sum((ln.discount_amount for ln in lines), ZERO)
    tax = sum((ln.tax_amount for ln in lines), ZERO)
    return Totals(
        subtotal=subtotal,
        discount_total=discount,
        tax_total=tax,
        shipping_amount=shipping_amount,
        grand_total=subtotal - discount + tax + shipping_amount,
    )


def mismatches(computed: Totals, claimed: dict[str, Decimal]) -> dict[str, tuple[str, str]]:
    """Fields where the client's totals differ from ours: name -> (claimed, computed)."""
    ours = computed.as_dict()
    return {
        name: (str(value), str(ours[name]))
        for name, value in claimed.items()
        if value != ours[name]
    }
