"""Money amounts are Decimals, shown with two decimals unless they need more."""

from __future__ import annotations

from decimal import Decimal


def display_amount(amount: Decimal, minor_units: int = 2) -> Decimal:
    """`19.9900` -> `19.99`; `0.1250` -> `0.125`; JPY `1500.0000` -> `1500` (never loses
    precision)."""
    rounded = amount.quantize(Decimal(1).scaleb(-minor_units))
    return rounded if rounded == amount else amount.normalize()
