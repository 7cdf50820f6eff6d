"""Every customer message renders in every language from a complete context, escapes what the
customer typed in its HTML, and refuses a context that does not match its kind."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from jinja2 import UndefinedError

from services.notifications.adapters.templating import (
    TemplateContextError,
    TemplateRenderer,
    load_brand_book,
)
from services.notifications.domain.brands import Brand
from services.notifications.domain.localisation import NBSP, Language
from services.notifications.domain.messages import (
    CANCELLATION_REASONS,
    DELAY_REASONS,
    NotificationKind,
    RenderedMessage,
)
from tests.notifications.message_contexts import HOSTILE, complete_context

RENDERER = TemplateRenderer()
BRAND = load_brand_book().default
ALL = [(kind, language) for kind in NotificationKind for language in Language]


def render(
    kind: NotificationKind,
    language: Language,
    brand: Brand = BRAND,
    **changes: Any,
) -> RenderedMessage:
    return RENDERER.render(kind, language, brand, {**complete_context(kind), **changes})


class _Tags(HTMLParser):
    """The start tags of a document, as a browser would find them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def tags_of(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize(("kind", "language"), ALL)
def test_every_message_renders_in_every_language(
    kind: NotificationKind, language: Language
) -> None:
    message = render(kind, language)
    assert message.subject and "\n" not in message.subject
    assert "WEB-1001" in message.subject or "RMA-2001" in message.subject or "€" in message.subject
    for part in (message.text, message.html):
        assert "WEB-1001" in part
        assert BRAND.support_email in part
    greeting = {Language.EN: "Hello", Language.DE: "Hallo"}[language]
    assert message.text.startswith(f"{greeting} Ann ")
    assert "<html" in message.html and f'lang="{language.value}"' in message.html
    assert BRAND.colour in message.html and BRAND.logo_url in message.html
    # Nothing left of the template language, no Python reprs of missing values.
    for part in (message.subject, message.text, message.html):
        assert not re.search(r"{{|}}|{%|%}|\bNone\b|Undefined", part), part


@pytest.mark.parametrize(("kind", "language"), ALL)
def test_html_escapes_what_the_customer_typed(kind: NotificationKind, language: Language) -> None:
    message = render(kind, language)
    assert "<script>" not in message.html
    assert "script" not in tags_of(message.html)
    assert "&lt;script&gt;" in message.html
    assert "&amp; Co" in message.html
    # The plain text shows it as typed: escaping there would print `&lt;` to the reader.
    assert HOSTILE in message.text


def test_shipped_names_carrier_tracking_number_and_link() -> None:
    for language in Language:
        message = render(NotificationKind.SHIPPED, language)
        for part in (message.text, message.html):
            assert "DHL" in part and "JJD000390007777" in part
        assert "https://track.example.com/JJD000390007777?a=1&b=2" in message.text
        assert 'href="https://track.example.com/JJD000390007777?a=1&amp;b=2"' in message.html
    without_link = render(NotificationKind.SHIPPED, Language.EN, tracking_url=None)
    assert "Track it" not in without_link.text and "JJD000390007777" in without_link.text


def test_money_and_dates_follow_the_language() -> None:
    english = render(NotificationKind.ORDER_CONFIRMED, Language.EN)
    german = render(NotificationKind.ORDER_CONFIRMED, Language.DE)
    assert "Total: €1,234.50" in english.text and "5 March 2026" in english.text
    assert f"Gesamt: 1.234,50{NBSP}€" in german.text and "5. März 2026" in german.text
    refund = render(NotificationKind.REFUND_ISSUED, Language.DE, amount=Decimal("9.9"))
    assert refund.subject == f"Ihre Erstattung über 9,90{NBSP}€ ist unterwegs"
    dollars = render(NotificationKind.REFUND_ISSUED, Language.EN, currency="USD")
    assert dollars.subject == "Your refund of $1,219.50 is on its way"


def test_delivered_shows_the_customers_day_of_an_instant() -> None:
    # 23:30 UTC on 4 March is already 5 March in Berlin, the brand's zone.
    message = render(NotificationKind.DELIVERED, Language.EN)
    assert "delivered on 5 March 2026" in message.text


def test_delayed_gives_the_new_date_or_the_backorder_date_and_the_reason_in_words() -> None:
    new_date = render(NotificationKind.DELAYED, Language.EN)
    assert "by 20 March 2026" in new_date.text
    assert "arriving later than planned" in new_date.text
    backorder = render(
        NotificationKind.DELAYED,
        Language.DE,
        reason="backordered",
        new_promised_date=None,
        backorder_date=date(2026, 4, 2),
    )
    assert "bis 2. April 2026" in backorder.text
    assert "unterwegs" in backorder.text
    unknown = render(
        NotificationKind.DELAYED,
        Language.EN,
        reason="internal_code_42",
        new_promised_date=None,
        backorder_date=None,
    )
    assert "internal_code_42" not in unknown.text + unknown.html
    assert "Something held up your order" in unknown.text
    assert "as soon as we know it" in unknown.text


@pytest.mark.parametrize("language", list(Language))
def test_every_known_reason_has_its_own_words(language: Language) -> None:
    generic_delay = render(NotificationKind.DELAYED, language, reason="?").text
    for reason in DELAY_REASONS:
        assert render(NotificationKind.DELAYED, language, reason=reason).text != generic_delay
    generic_cancel = render(NotificationKind.CANCELLED, language, reason="?").text
    for reason in CANCELLATION_REASONS:
        assert render(NotificationKind.CANCELLED, language, reason=reason).text != generic_cancel


def test_cancelled_tells_whole_from_part_and_the_refund() -> None:
    part = render(NotificationKind.CANCELLED, Language.EN)
    assert part.subject == "Part of your order WEB-1001 has been cancelled"
    assert "€1,219.50 goes back" in part.text
    whole = render(
        NotificationKind.CANCELLED, Language.DE, fully_cancelled=True, refund_amount=None
    )
    assert whole.subject == "Ihre Bestellung WEB-1001 wurde storniert"
    assert "nicht berechnet" in whole.text and "zurück" not in whole.text


def test_return_approved_links_the_label_or_sends_to_a_store() -> None:
    mail = render(NotificationKind.RETURN_APPROVED, Language.EN)
    assert "https://returns.example.com/labels/RMA-2001.pdf" in mail.text
    assert 'href="https://returns.example.com/labels/RMA-2001.pdf"' in mail.html
    assert "by 1 April 2026" in mail.text
    in_store = render(
        NotificationKind.RETURN_APPROVED, Language.DE, label_url=None, carrier=None, return_by=None
    )
    assert "Filialen" in in_store.text and "https://" not in in_store.text.split("--")[0]


def test_ready_for_pickup_and_order_confirmed_for_a_pickup_order() -> None:
    ready = render(NotificationKind.READY_FOR_PICKUP, Language.EN)
    assert "Store Berlin Mitte" in ready.text and "12 March 2026" in ready.text
    pickup = render(
        NotificationKind.ORDER_CONFIRMED,
        Language.EN,
        shipping_address=None,
        pickup_location="Store Berlin Mitte",
        promised_date=None,
    )
    assert "collect it at Store Berlin Mitte" in pickup.text
    assert "We will send it to" not in pickup.text


def test_the_channel_brand_shows() -> None:
    book = load_brand_book()
    market = book.for_channel("marketplace")
    message = render(NotificationKind.SHIPPED, Language.EN, brand=market)
    assert market.name in message.text and market.colour in message.html
    assert market.support_email in message.html


def test_a_context_that_does_not_match_its_kind_is_refused_naming_the_fields() -> None:
    context = complete_context(NotificationKind.SHIPPED)
    del context["tracking_number"]
    context["tracking_numbr"] = "x"
    with pytest.raises(
        TemplateContextError, match=r"missing 'tracking_number'.*unknown 'tracking_numbr'"
    ):
        RENDERER.render(NotificationKind.SHIPPED, Language.EN, BRAND, context)


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,x", "//evil.example"])
def test_a_link_that_is_not_http_is_refused(link: str) -> None:
    with pytest.raises(TemplateContextError, match="not an http"):
        render(NotificationKind.SHIPPED, Language.EN, tracking_url=link)
    with pytest.raises(TemplateContextError, match="not an http"):
        render(NotificationKind.RETURN_APPROVED, Language.EN, label_url=link)


def test_a_field_a_template_reads_but_the_context_lacks_fails_the_render() -> None:
    """StrictUndefined: a missing nested field is an error, never an empty string in a mail."""
    lines_without_names = [{"quantity": 1}]
    with pytest.raises(UndefinedError, match="name"):
        render(NotificationKind.DELIVERED, Language.EN, lines=lines_without_names)


@pytest.mark.parametrize(("kind", "language"), ALL)
def test_every_sms_is_one_short_line_without_what_the_customer_typed(
    kind: NotificationKind, language: Language
) -> None:
    text = RENDERER.render_sms(kind, language, BRAND, complete_context(kind))
    assert "\n" not in text and text.startswith(f"{BRAND.name}: ")
    assert "WEB-1001" in text or "RMA-2001" in text
    # Two SMS at most (a concatenated SMS carries 153 characters each); the name and the items
    # stay out, so nothing a customer typed can lengthen it.
    assert len(text) <= 306, text
    assert "script" not in text and "Ann" not in text
    assert not re.search(r"{{|}}|\bNone\b", text)


def test_the_sms_carries_the_tracking_link_or_else_the_number() -> None:
    shipped = complete_context(NotificationKind.SHIPPED)
    with_link = RENDERER.render_sms(NotificationKind.SHIPPED, Language.DE, BRAND, shipped)
    assert with_link.endswith(
        "Sendung verfolgen: https://track.example.com/JJD000390007777?a=1&b=2"
    )
    without = RENDERER.render_sms(
        NotificationKind.SHIPPED, Language.EN, BRAND, {**shipped, "tracking_url": None}
    )
    assert without.endswith("Tracking number: JJD000390007777")
