"""Valid order bodies for the tests, with every total consistent; override what a test needs."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any


def order_body(
    lines: list[tuple[str, int, str]] | None = None,
    *,
    shipping_amount: str = "4.90",
    **overrides: Any,
) -> dict[str, Any]:
    """An order of `lines` (sku, quantity, unit price), paid in full by card."""
    lines = lines or [("LAMP-1", 2, "19.99"), ("BULB-9", 1, "4.50")]
    grand_total = sum((Decimal(price) * qty for _, qty, price in lines), Decimal(shipping_amount))
    body: dict[str, Any] = {
        "channel": "web",
        "channel_order_ref": f"W-{uuid.uuid4().hex[:12]}",
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "Unter den Linden 1",
            "city": "Berlin",
            "postal_code": "10117",
            "country": "DE",
            "latitude": 52.517,
            "longitude": 13.3889,
        },
        "delivery": {"method": "ship", "service_level": "standard"},
        "currency": "EUR",
        "lines": [{"sku": sku, "quantity": qty, "unit_price": price} for sku, qty, price in lines],
        "shipping_amount": shipping_amount,
        "payment": {"method": "card", "token": "tok_test_4242", "amount": str(grand_total)},
    }
    body.update(overrides)
    return body
