"""Money amounts are Decimals, shown with two decimals unless they need more."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def display_amount(amount: Decimal) -> Decimal:
    """`19.9900` -> `19.99`; `0.1250` -> `0.125` (never loses precision)."""
    rounded = amount.quantize(CENT)
    return rounded if rounded == amount else amount.normalize()
