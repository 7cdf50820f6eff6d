"""A built-in fraud check for tests and demos: deterministic, no network.

An e-mail address whose local part contains `risky` scores 95; any other scores from 0 to 29,
the same every time for the same address, and 10 more above 1,000 of any currency.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

RISKY_MARKER = "risky"


class SimulatedFraudCheck:
    async def score(self, *, order_id: str, customer_email: str, grand_total: Decimal) -> int:
        local = customer_email.split("@", 1)[0].lower()
        if RISKY_MARKER in local:
            return 95
        base = hashlib.sha256(customer_email.lower().encode()).digest()[0] % 30
        return base + (10 if grand_total > 1000 else 0)
