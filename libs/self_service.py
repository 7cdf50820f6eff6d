"""Self-service: how a customer proves an order is theirs without an account."""

from __future__ import annotations

import hmac

# Compared against when the order number is unknown, so an unknown number costs the same
# comparison as a known one with a wrong address. `.invalid` (RFC 2606) can never be real.
NO_ORDER_EMAIL = "no-order@self-service.invalid"


def email_matches(on_order: str, given: str) -> bool:
    """The proof a customer gives in self-service. Case-insensitive, as mail systems are, and
    constant-time, so response timing does not tell how much of an address was right."""
    return hmac.compare_digest(on_order.casefold().encode(), given.strip().casefold().encode())


def email_proves_order(on_order: str | None, given: str) -> bool:
    """True only when an order exists (`on_order` is its address) and `given` matches it.
    The constant-time comparison runs in every case, also for an unknown order number, so
    the answer's timing does not tell an unknown number from a wrong address."""
    matches = email_matches(NO_ORDER_EMAIL if on_order is None else on_order, given)
    return on_order is not None and matches
