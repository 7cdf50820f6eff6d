"""Which language a customer is written to, and how money and dates read in it.

Plain functions, so the choice is the same wherever it is made (the template renderer, the
notification ledger, a test) and needs no template engine to check.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from libs.money import minor_units


class Language(StrEnum):
    EN = "en"
    DE = "de"


DEFAULT_LANGUAGE = Language.EN

# Countries whose customers are written to in German when the order names no locale: the
# German-speaking countries (Liechtenstein's only official language is German too). Switzerland
# also speaks French and Italian, but we have no templates in those; German reaches most.
_GERMAN_SPEAKING = frozenset({"DE", "AT", "CH", "LI"})


def choose_language(locale: str | None, country: str | None) -> Language:
    """The order's locale if it names a language we write (`de-DE`, `de_AT`, `de`, `en-GB`),
    else the shipping country's (DE, AT, CH, LI: German), else English."""
    if locale:
        primary = locale.strip().replace("_", "-").split("-", 1)[0].lower()
        for language in Language:
            if language.value == primary:
                return language
    if country and country.strip().upper() in _GERMAN_SPEAKING:
        return Language.DE
    return DEFAULT_LANGUAGE


# Currencies whose symbol is unambiguous to an English or German reader; any other currency is
# written with its ISO code (CHF 12.00, 12,00 CHF), which no one misreads. `$` is the US dollar
# only: a Canadian reading `$` of an Australian shop would not know which.
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

# Between a German amount and its currency: a no-break space, so a line never ends between them.
NBSP = "\u00a0"


def format_money(amount: Decimal, currency: str, language: Language) -> str:
    """`€1,234.50` / `CHF 1,234.50` in English, `1.234,50 €` / `1.234,50 CHF` in German;
    rounded half-up to the currency's minor units (JPY none, KWD three)."""
    code = currency.upper()
    places = minor_units(code)
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    digits = f"{abs(rounded):,.{places}f}"  # 1,234.50: the English separators
    symbol = _SYMBOLS.get(code)
    if language is Language.DE:
        german = digits.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
        return f"{sign}{german}{NBSP}{symbol or code}"
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{code}{NBSP}{digits}"


_MONTHS = {
    Language.EN: (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    Language.DE: (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
}


def format_date(value: date | datetime, language: Language, zone: tzinfo | None = None) -> str:
    """`5 March 2026` / `5. März 2026`: the month spelled out, so neither reader mistakes day
    for month. An instant is first moved to `zone` (the brand's), as the customer's calendar
    shows it: 23:30 UTC is already tomorrow in Berlin."""
    if isinstance(value, datetime):
        if zone is not None and value.tzinfo is not None:
            value = value.astimezone(zone)
        value = value.date()
    month = _MONTHS[language][value.month - 1]
    if language is Language.DE:
        return f"{value.day}. {month} {value.year}"
    return f"{value.day} {month} {value.year}"
