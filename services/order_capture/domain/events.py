from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class OrderPlaced:
    pass


@dataclass(frozen=True)
class OrderStatusChanged:
    previous_status: str
    status: str
    reason: str
    at: datetime


DomainEvent = OrderPlaced | OrderStatusChanged
