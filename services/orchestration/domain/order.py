"""What orchestration keeps of an order: its lines and their value, where it goes, how it
is paid. Taken once from oms.order.placed (and address edits), never read from order-capture."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from libs.money import round_to_currency
from services.orchestration.domain.routing.model import Demand, GeoPoint, Method


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    sku: str
    quantity: int
    value: Decimal  # what the customer pays for the line: net of discount, with tax


@dataclass(frozen=True)
class ShipTo:
    country: str
    lat: float | None = None
    lon: float | None = None
    name: str = ""
    line1: str = ""
    city: str = ""
    postal_code: str = ""

    @property
    def point(self) -> GeoPoint | None:
        return (
            GeoPoint(self.lat, self.lon) if self.lat is not None and self.lon is not None else None
        )


BACKORDER_PRIORITY = {"normal": 0, "high": 50}


@dataclass(frozen=True)
class OrderSnapshot:
    order_number: str
    channel: str
    currency: str
    placed_at: datetime
    lines: tuple[OrderLine, ...]
    ship_to: ShipTo
    method: Method = Method.SHIP
    service_level: str = "standard"
    pickup_location: str | None = None
    # A new payment method's token (new_payment_method), used instead of the one order-capture
    # sent on oms.payments.commands (kept apart: service_layer.unit_of_work.PaymentTokens).
    payment_token: str | None = None
    grand_total: Decimal = Decimal("0")
    shipping_amount: Decimal = Decimal("0")
    customer_email: str = ""
    # The day the customer needs the order by ("deliver by"), as placed; None: no date asked.
    requested_delivery_date: date | None = None
    # normal or high (oms.order.priority_changed): a high order's reservations are first in
    # line for incoming stock.
    priority: str = "normal"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def backorder_priority(self) -> int:
        """Its place in inventory's backorder queue (ReserveStock.priority, higher first):
        high orders are served before normal ones placed earlier."""
        return BACKORDER_PRIORITY.get(self.priority, 0)

    def line(self, line_id: str) -> OrderLine:
        return next(ln for ln in self.lines if ln.line_id == line_id)

    def demands(self, units: dict[str, int]) -> tuple[Demand, ...]:
        """The lines with units still to route, as the routing engine reads them."""
        return tuple(
            Demand(ln.line_id, ln.sku, units[ln.line_id])
            for ln in self.lines
            if units.get(ln.line_id, 0) > 0
        )

    def value_of(self, units: dict[str, int]) -> Decimal:
        """The share of the line values these units carry, in the currency's minor units."""
        total = sum(
            (
                self.line(line_id).value * n / self.line(line_id).quantity
                for line_id, n in units.items()
            ),
            Decimal("0"),
        )
        return round_to_currency(total, self.currency)

    def with_payment_token(self, token: str) -> OrderSnapshot:
        return replace(self, payment_token=token)

    def with_address(
        self, ship_to: ShipTo, method: Method, service_level: str, pickup_location: str | None
    ) -> OrderSnapshot:
        return replace(
            self,
            ship_to=ship_to,
            method=method,
            service_level=service_level,
            pickup_location=pickup_location,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON types, for the saga's row. Written out field by field: dataclasses.asdict
        deep-copies every value (65 µs an order), and a saga writes its order at every save."""
        ship_to = self.ship_to
        return {
            "order_number": self.order_number,
            "channel": self.channel,
            "currency": self.currency,
            "placed_at": self.placed_at.isoformat(),
            "lines": [
                {
                    "line_id": ln.line_id,
                    "sku": ln.sku,
                    "quantity": ln.quantity,
                    "value": str(ln.value),
                }
                for ln in self.lines
            ],
            "ship_to": {
                "country": ship_to.country,
                "lat": ship_to.lat,
                "lon": ship_to.lon,
                "name": ship_to.name,
                "line1": ship_to.line1,
                "city": ship_to.city,
                "postal_code": ship_to.postal_code,
            },
            "method": self.method.value,
            "service_level": self.service_level,
            "pickup_location": self.pickup_location,
            "payment_token": self.payment_token,
            "grand_total": str(self.grand_total),
            "shipping_amount": str(self.shipping_amount),
            "customer_email": self.customer_email,
            "requested_delivery_date": (
                None
                if self.requested_delivery_date is None
                else self.requested_delivery_date.isoformat()
            ),
            "priority": self.priority,
            "extra": copy.deepcopy(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderSnapshot:
        # Sagas stored before orders carried a requested delivery date have no such key.
        requested = data.get("requested_delivery_date")
        return cls(
            order_number=data["order_number"],
            channel=data["channel"],
            currency=data["currency"],
            placed_at=datetime.fromisoformat(data["placed_at"]),
            lines=tuple(
                OrderLine(ln["line_id"], ln["sku"], ln["quantity"], Decimal(ln["value"]))
                for ln in data["lines"]
            ),
            ship_to=ShipTo(**data["ship_to"]),
            method=Method(data["method"]),
            service_level=data["service_level"],
            pickup_location=data["pickup_location"],
            payment_token=data["payment_token"],
            grand_total=Decimal(data["grand_total"]),
            shipping_amount=Decimal(data["shipping_amount"]),
            customer_email=data["customer_email"],
            requested_delivery_date=None if requested is None else date.fromisoformat(requested),
            # Sagas stored before orders had a priority have no such key.
            priority=data.get("priority", "normal"),
            extra=data.get("extra", {}),
        )
