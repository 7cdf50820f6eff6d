"""Which language a customer is written to, and money and dates in it (pure functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from services.notifications.domain.localisation import (
    NBSP,
    Language,
    choose_language,
    format_date,
    format_money,
)


@pytest.mark.parametrize(
    ("locale", "country", "expected"),
    [
        ("de-DE", "US", Language.DE),  # the locale wins over the country
        ("de", None, Language.DE),
        ("de_AT", None, Language.DE),
        ("DE-ch", None, Language.DE),
        ("en-GB", "DE", Language.EN),
        ("en", None, Language.EN),
        (None, "DE", Language.DE),
        (None, "AT", Language.DE),
        (None, "ch", Language.DE),
        (None, "LI", Language.DE),
        (None, "FR", Language.EN),
        (None, "US", Language.EN),
        (None, None, Language.EN),
        ("", "AT", Language.DE),  # an empty locale is no locale
        ("fr-FR", "DE", Language.DE),  # a language we do not write: the country decides
        ("fr-FR", "FR", Language.EN),
        ("  ", None, Language.EN),
    ],
)
def test_the_language_comes_from_the_locale_else_the_country(
    locale: str | None, country: str | None, expected: Language
) -> None:
    assert choose_language(locale, country) is expected


@pytest.mark.parametrize(
    ("amount", "currency", "english", "german"),
    [
        ("1234.5", "EUR", "€1,234.50", f"1.234,50{NBSP}€"),
        ("1234.5", "USD", "$1,234.50", f"1.234,50{NBSP}$"),
        ("0.5", "GBP", "£0.50", f"0,50{NBSP}£"),
        ("1234567.891", "EUR", "€1,234,567.89", f"1.234.567,89{NBSP}€"),
        ("0.005", "EUR", "€0.01", f"0,01{NBSP}€"),  # half-up, as a provider rounds
        ("1500", "JPY", "¥1,500", f"1.500{NBSP}¥"),  # no minor units
        ("12.3456", "KWD", f"KWD{NBSP}12.346", f"12,346{NBSP}KWD"),  # three
        ("99", "CHF", f"CHF{NBSP}99.00", f"99,00{NBSP}CHF"),  # no symbol: the code
        ("-5", "EUR", "-€5.00", f"-5,00{NBSP}€"),
        ("0", "eur", "€0.00", f"0,00{NBSP}€"),
    ],
)
def test_money_reads_as_each_language_writes_it(
    amount: str, currency: str, english: str, german: str
) -> None:
    assert format_money(Decimal(amount), currency, Language.EN) == english
    assert format_money(Decimal(amount), currency, Language.DE) == german


def test_dates_spell_out_the_month() -> None:
    assert format_date(date(2026, 3, 5), Language.EN) == "5 March 2026"
    assert format_date(date(2026, 3, 5), Language.DE) == "5. März 2026"
    assert format_date(date(2026, 12, 31), Language.DE) == "31. Dezember 2026"


def test_an_instant_is_the_day_it_is_where_the_customer_is() -> None:
    late_evening_utc = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    assert format_date(late_evening_utc, Language.EN, berlin) == "5 March 2026"
    assert format_date(late_evening_utc, Language.EN, ZoneInfo("America/New_York")) == (
        "4 March 2026"
    )
    assert format_date(late_evening_utc, Language.DE) == "4. März 2026"  # no zone: as given
