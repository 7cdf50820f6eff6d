"""How the saga's steps (GET /v1/orders/{id}/saga) describe units and waits to a person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from services.orchestration.domain import commands
from services.orchestration.domain.fulfillment import FulfillmentLine
from services.orchestration.domain.saga.state import Held


def describe_held(held: Sequence[Held]) -> str:
    return ", ".join(f"{h.quantity} x {h.sku} at {h.location_code}" for h in held)


def describe_stock(lines: Sequence[commands.StockLine]) -> str:
    return ", ".join(f"{ln.quantity} x {ln.sku} at {ln.location_code}" for ln in lines)


def units_of(units: Sequence[FulfillmentLine]) -> int:
    return sum(u.quantity for u in units)


def span_text(span: timedelta) -> str:
    """A wait as a person reads it: whole hours, or minutes under an hour."""
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{span.total_seconds() / 60:.0f} min"
