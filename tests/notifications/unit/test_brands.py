"""The brand of each channel's messages: the default with a channel's fields over it."""

from __future__ import annotations

from typing import Any

import pytest

from services.notifications.adapters.templating import BRANDS_FILE, load_brand_book
from services.notifications.domain.brands import BrandError, brand_book

DEFAULT = {
    "name": "Shop",
    "colour": "#112233",
    "logo_url": "https://shop.example.com/logo.png",
    "support_email": "help@shop.example.com",
    "from_address": "orders@shop.example.com",
    "website_url": "https://shop.example.com",
}


def test_a_channel_overrides_only_what_it_names() -> None:
    book = brand_book(DEFAULT, {"marketplace": {"name": "Shop on Market", "colour": "#abcdef"}})
    market = book.for_channel("marketplace")
    assert (market.name, market.colour) == ("Shop on Market", "#abcdef")
    assert market.support_email == "help@shop.example.com"
    assert book.for_channel("web") == book.default
    assert book.for_channel(None) == book.default
    assert book.default.timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"color": "#123456"}, "unknown field"),  # misspelt: never silently ignored
        ({"colour": "red; background:url(x)"}, "#rrggbb"),  # it lands in a style attribute
        ({"logo_url": "javascript:alert(1)"}, "http(s) URL"),
        ({"from_address": "orders@shop.example.com\r\nBcc: x@y.z"}, "not an e-mail"),
        ({"name": "Shop\r\nBcc: x@y.z"}, "one non-empty line"),
        ({"timezone": "Mars/Olympus"}, "unknown"),
    ],
)
def test_a_bad_brand_is_refused_when_loaded(override: dict[str, Any], complaint: str) -> None:
    with pytest.raises(BrandError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        brand_book(DEFAULT, {"web": override})


def test_the_default_brand_must_be_complete() -> None:
    with pytest.raises(BrandError, match="lacks"):
        brand_book({k: v for k, v in DEFAULT.items() if k != "support_email"}, {})


def test_the_shipped_brands_file_loads() -> None:
    book = load_brand_book(BRANDS_FILE)
    assert book.default.name
    assert "marketplace" in book.channels
