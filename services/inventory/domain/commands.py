from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class RequestedLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReserveForOrder:
    order_id: UUID
    lines: tuple[RequestedLine, ...]


@dataclass(frozen=True)
class SetStockLevel:
    location_code: str
    sku: str
    on_hand: int
