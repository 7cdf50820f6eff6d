"""Self-service: how a customer proves an order is theirs without an account."""

from __future__ import annotations

import hmac


def email_matches(on_order: str, given: str) -> bool:
    """The proof a customer gives in self-service. Case-insensitive, as mail systems are, and
    constant-time, so response timing does not tell how much of an address was right."""
    return hmac.compare_digest(on_order.casefold().encode(), given.strip().casefold().encode())
