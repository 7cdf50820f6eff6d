"""Returns' own view of an order, built from order and orchestration events: its lines and
prices, what was delivered and when, and the money already paid back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from libs.money import round_to_currency

ZERO = Decimal("0")


@dataclass
class OrderLine:
    line_id: UUID
    sku: str
    quantity: int
    unit_price: Decimal
    discount_amount: Decimal = ZERO  # for the whole line
    tax_amount: Decimal = ZERO  # for the whole line
    name: str | None = None
    shipped: int = 0
    delivered: int = 0
    delivered_at: datetime | None = None  # the latest delivery of its units

    @property
    def total(self) -> Decimal:
        """What the customer paid for the whole line: price less discount plus tax."""
        return self.unit_price * self.quantity - self.discount_amount + self.tax_amount

    def value_of_units(self, before: int, units: int, currency: str) -> Decimal:
        """What `units` more of the line are worth after `before` were already counted.

        Each unit's share of the line total (discount and tax included) is rounded on the
        running total, so however the line is returned in parts, the parts add up to exactly
        the line total, never a cent more.
        """
        return self._share(before + units, currency) - self._share(before, currency)

    def _share(self, units: int, currency: str) -> Decimal:
        return round_to_currency(self.total * units / self.quantity, currency)


@dataclass
class KnownOrder:
    order_id: UUID
    order_number: str
    channel: str
    customer_email: str
    customer_name: str
    currency: str
    placed_at: datetime
    shipping_amount: Decimal
    grand_total: Decimal
    lines: list[OrderLine]
    tags: frozenset[str] = frozenset()
    shipping_address: Mapping[str, Any] = field(default_factory=dict)

    def line(self, line_id: UUID) -> OrderLine | None:
        return next((ln for ln in self.lines if ln.line_id == line_id), None)

    def record_delivery(self, quantities: Mapping[UUID, int], at: datetime) -> bool:
        """Units reached the customer; False when the lines are unknown (nothing to do)."""
        changed = False
        for ln in self.lines:
            n = quantities.get(ln.line_id, 0)
            if n:
                ln.delivered = min(ln.quantity, ln.delivered + n)
                ln.delivered_at = max(filter(None, (ln.delivered_at, at)))
                changed = True
        return changed

    def record_shipment(self, quantities: Mapping[UUID, int]) -> None:
        for ln in self.lines:
            ln.shipped = min(ln.quantity, ln.shipped + quantities.get(ln.line_id, 0))


def units_by_line(pairs: Sequence[tuple[UUID, int]]) -> dict[UUID, int]:
    total: dict[UUID, int] = {}
    for line_id, n in pairs:
        total[line_id] = total.get(line_id, 0) + n
    return total
