from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class KnownLine:
    line_id: UUID
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class ProjectPlacedOrder:
    """Returns keeps its own copy of what it needs to know of an order (no reads of others' DBs)."""

    order_id: UUID
    order_number: str
    customer_email: str
    currency: str
    placed_at: datetime
    lines: tuple[KnownLine, ...]
