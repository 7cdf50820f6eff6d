"""Money amounts are Decimals, shown with two decimals unless they need more."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units that differ from the usual two decimals. The list is short and changes
# about once a decade; pycountry (used for currency codes) does not carry minor units.
_ZERO_DECIMALS = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX")
_ZERO_DECIMALS_MORE = ("UYI", "VND", "VUV", "XAF", "XOF", "XPF")
_THREE_DECIMALS = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
_MINOR_UNITS = {
    **dict.fromkeys(_ZERO_DECIMALS + _ZERO_DECIMALS_MORE, 0),
    **dict.fromkeys(_THREE_DECIMALS, 3),
}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def round_to_currency(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor units: what a provider can actually move."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def display_amount(amount: Decimal, minor_units: int = 2) -> Decimal:
    """`19.9900` -> `19.99`; `0.1250` -> `0.125`; JPY `1500.0000` -> `1500` (never loses
    precision)."""
    rounded = amount.quantize(Decimal(1).scaleb(-minor_units))
    return rounded if rounded == amount else amount.normalize()
