"""A complete template context for every kind of customer message (domain.messages.KIND_FIELDS),
with customer input that HTML must escape, and the variants the templates choose between."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.notifications.domain.messages import NotificationKind

# Customer input an attacker controls (the name, a product name, an address line).
HOSTILE = '<script>alert("x")</script> & Co'

ITEMS = [
    {"name": f"Mug {HOSTILE}", "quantity": 2},
    {"name": "Tea towel", "quantity": 1},
]
PRICED_ITEMS = [
    {"name": f"Mug {HOSTILE}", "quantity": 2, "amount": Decimal("1219.50")},
    {"name": "Tea towel", "quantity": 1, "amount": Decimal("15")},
]


def complete_context(kind: NotificationKind) -> dict[str, Any]:
    common: dict[str, Any] = {"customer_name": f"Ann {HOSTILE}", "order_number": "WEB-1001"}
    match kind:
        case NotificationKind.ORDER_CONFIRMED:
            own: dict[str, Any] = {
                "lines": PRICED_ITEMS,
                "total": Decimal("1234.50"),
                "currency": "EUR",
                "shipping_address": [f"Ann {HOSTILE}", "Hauptstr. 1", "10115 Berlin", "DE"],
                "pickup_location": None,
                "promised_date": date(2026, 3, 5),
            }
        case NotificationKind.SHIPPED:
            own = {
                "carrier": "DHL",
                "tracking_number": "JJD000390007777",
                "tracking_url": "https://track.example.com/JJD000390007777?a=1&b=2",
                "lines": ITEMS,
                "promised_date": date(2026, 3, 5),
            }
        case NotificationKind.READY_FOR_PICKUP:
            own = {
                "pickup_location": "Store Berlin Mitte",
                "pickup_address": ["Rosenthaler Str. 40", "10178 Berlin"],
                "lines": ITEMS,
                "collect_by": date(2026, 3, 12),
            }
        case NotificationKind.DELIVERED:
            own = {"delivered_on": datetime(2026, 3, 4, 23, 30, tzinfo=UTC), "lines": ITEMS}
        case NotificationKind.DELAYED:
            own = {
                "reason": "inbound_rescheduled",
                "lines": ITEMS,
                "new_promised_date": date(2026, 3, 20),
                "backorder_date": None,
            }
        case NotificationKind.CANCELLED:
            own = {
                "reason": "out_of_stock",
                "lines": ITEMS[:1],
                "fully_cancelled": False,
                "refund_amount": Decimal("1219.50"),
                "currency": "EUR",
            }
        case NotificationKind.RETURN_APPROVED:
            own = {
                "return_number": "RMA-2001",
                "lines": ITEMS[:1],
                "label_url": "https://returns.example.com/labels/RMA-2001.pdf",
                "carrier": "DHL",
                "return_by": date(2026, 4, 1),
            }
        case NotificationKind.REFUND_ISSUED:
            own = {
                "amount": Decimal("1219.50"),
                "currency": "EUR",
                "refund_method": "payment",
                "return_number": "RMA-2001",
            }
    return {**common, **own}
