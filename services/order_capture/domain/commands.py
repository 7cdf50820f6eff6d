from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class NewLine:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class PlaceOrder:
    channel: str
    channel_order_ref: str
    currency: str
    customer_email: str
    customer_name: str
    lines: tuple[NewLine, ...]
    idempotency_key: str | None = None
    request_fingerprint: str = ""


@dataclass(frozen=True)
class ConfirmStockReserved:
    order_id: UUID


@dataclass(frozen=True)
class RecordStockShortage:
    order_id: UUID
    reason: str
