"""Which customer message an event causes, and what the message says.

Pure functions over an event's data (the JSON the contract publishes) and the order as
notifications saw it placed (`CustomerOrder`, kept from `oms.order.placed`):

- `notice_for` says whether an event causes a message, of which kind, and under which business
  key: the ledger holds one notification per (order, kind, key, medium), so an event consumed twice,
  or a second event about the same business fact (an order confirmed again after a backorder),
  makes nothing twice.
- `texted` says whether a notice goes by SMS too (beside the e-mail: one ledger row per
  medium).
- `context_for` builds the template context of domain.messages.KIND_FIELDS from the event's
  data and the order, when the message is sent (not when the event comes: the order's
  placement may be consumed after an orchestration event of it, the topics being read side
  by side).
- `retry_after` says when a transiently failed message is tried again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.notifications.domain.localisation import Language, choose_language
from services.notifications.domain.messages import NotificationKind


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # The customer (or the order) opted out: recorded, never sent.
    SUPPRESSED = "suppressed"


class Medium(StrEnum):
    EMAIL = "email"
    SMS = "sms"


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    sku: str
    name: str
    quantity: int
    amount: Decimal  # the line's total, in the order's currency


@dataclass(frozen=True)
class CustomerOrder:
    """What the messages of an order need, from its placement (and later customer edits)."""

    order_id: UUID
    order_number: str
    channel: str
    email: str
    name: str
    phone: str | None
    language: Language
    currency: str
    total: Decimal
    lines: tuple[OrderLine, ...]
    shipping_address: tuple[str, ...] | None
    pickup_location: str | None
    promised_date: date | None
    # The units of a part of the order: "fulfillment:<id>" or "return:<id>" -> line id -> qty.
    parts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def line_named(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.line_id == line_id), None)

    def name_of_sku(self, sku: str) -> str:
        return next((line.name for line in self.lines if line.sku == sku), sku)


@dataclass(frozen=True)
class Notice:
    """A message an event causes: its kind, and the key that makes it once per business fact."""

    kind: NotificationKind
    business_key: str


# --- the order's projection -------------------------------------------------------------------


def address_lines(address: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    if not address:
        return None
    postal = f"{address.get('postal_code', '')} {address.get('city', '')}".strip()
    candidates = [
        address.get("name"),
        address.get("line1"),
        address.get("line2"),
        postal,
        address.get("region"),
        address.get("country"),
    ]
    return tuple(str(part) for part in candidates if part)


def customer_order_of_placed(data: Mapping[str, Any]) -> CustomerOrder:
    """The order from `oms.order.placed`'s data. The customer's locale, when the channel sends
    one, is the metadata's `locale`; else the shipping country chooses the language."""
    customer = data.get("customer") or {}
    delivery = data.get("delivery") or {}
    address = data.get("shipping_address")
    pickup = delivery.get("method") == "pickup"
    metadata = data.get("metadata") or {}
    country = address.get("country") if isinstance(address, Mapping) else None
    return CustomerOrder(
        order_id=UUID(str(data["order_id"])),
        order_number=str(data["order_number"]),
        channel=str(data["channel"]),
        email=str(customer.get("email") or data["customer_email"]),
        name=str(customer.get("name") or ""),
        phone=customer.get("phone"),
        language=choose_language(metadata.get("locale"), country),
        currency=str(data["currency"]),
        total=Decimal(str(data["total_amount"])),
        lines=tuple(_placed_line(line) for line in data.get("lines", [])),
        shipping_address=None if pickup else address_lines(address),
        pickup_location=delivery.get("pickup_location_code") if pickup else None,
        promised_date=_date(data.get("requested_delivery_date")),
    )


def _placed_line(line: Mapping[str, Any]) -> OrderLine:
    quantity = int(line["quantity"])
    total = line.get("line_total")
    if total is None:
        total = (
            Decimal(str(line["unit_price"])) * quantity
            - Decimal(str(line.get("discount_amount", 0)))
            + Decimal(str(line.get("tax_amount", 0)))
        )
    return OrderLine(
        line_id=str(line["line_id"]),
        sku=str(line["sku"]),
        name=str(line.get("name") or line["sku"]),
        quantity=quantity,
        amount=Decimal(str(total)),
    )


def part_of(event_type: str, data: Mapping[str, Any]) -> tuple[str, dict[str, int]] | None:
    """The units a later message names, from the event that tells them: a fulfilment order's
    (its ready-for-pickup event does not list them) or a return's (its approval does not)."""
    if event_type == "oms.orchestration.fulfillment_created":
        return f"fulfillment:{data['fulfillment_id']}", _quantities(data.get("lines", []))
    if event_type == "oms.returns.requested":
        return f"return:{data['return_id']}", _quantities(data.get("lines", []))
    return None


def _quantities(lines: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in lines:
        found[str(line["line_id"])] = found.get(str(line["line_id"]), 0) + int(line["quantity"])
    return found


# --- event -> notice --------------------------------------------------------------------------

K = NotificationKind


def notice_for(event_type: str, data: Mapping[str, Any]) -> Notice | None:
    """The message the event causes, if any. A cancellation of the whole order is told by
    `oms.order.cancelled` (which every whole cancellation ends in, whoever asked for it); a
    cancellation of some units by its `cancellation_requested`."""
    match event_type:
        case "oms.order.status_changed" if data.get("status") == "confirmed":
            return Notice(K.ORDER_CONFIRMED, str(data["order_id"]))
        case "oms.orchestration.fulfillment_shipped":
            return Notice(K.SHIPPED, str(data["shipment_id"]))
        case "oms.orchestration.fulfillment_ready_for_pickup":
            return Notice(K.READY_FOR_PICKUP, str(data["fulfillment_id"]))
        case "oms.orchestration.fulfillment_delivered":
            return Notice(K.DELIVERED, str(data["shipment_id"]))
        case "oms.orchestration.order_delayed":
            return Notice(K.DELAYED, f"delay:{data['delay_id']}")
        case "oms.orchestration.order_backordered":
            return Notice(K.DELAYED, f"backorder:{data['reservation_id']}")
        case "oms.order.cancelled":
            return Notice(K.CANCELLED, "order")
        case "oms.order.cancellation_requested" if not data.get("whole_order"):
            return Notice(K.CANCELLED, str(data["cancellation_id"]))
        case "oms.returns.approved":
            return Notice(K.RETURN_APPROVED, str(data["return_id"]))
        case "oms.returns.refunded":
            return Notice(K.REFUND_ISSUED, str(data["refund_id"]))
    return None


# The kinds a customer who gave a phone number is also texted about, unless configured
# otherwise (NOTIFICATIONS_SMS_KINDS): where the parcel is, as commercial OMSs text it (on its
# way, ready to collect, late, there). A confirmation, a cancellation, a return or a refund
# is read at leisure: e-mail only.
SMS_KINDS_BY_DEFAULT = frozenset({K.SHIPPED, K.READY_FOR_PICKUP, K.DELAYED, K.DELIVERED})


def texted(kind: NotificationKind, order: CustomerOrder, sms_kinds: Collection[str]) -> bool:
    """Whether the notice of `kind` goes by SMS too: a kind texted, to an order with a phone
    number (whether it is one an SMS can go to is the sending job's to find out, and record)."""
    return kind in sms_kinds and bool(order.phone)


# Every event type that may cause a message (for docs and tests).
NOTIFYING_EVENTS = frozenset(
    {
        "oms.order.status_changed",
        "oms.orchestration.fulfillment_shipped",
        "oms.orchestration.fulfillment_ready_for_pickup",
        "oms.orchestration.fulfillment_delivered",
        "oms.orchestration.order_delayed",
        "oms.orchestration.order_backordered",
        "oms.order.cancelled",
        "oms.order.cancellation_requested",
        "oms.returns.approved",
        "oms.returns.refunded",
    }
)


# --- notice -> template context ---------------------------------------------------------------


def context_for(
    kind: NotificationKind, data: Mapping[str, Any], order: CustomerOrder
) -> dict[str, Any]:
    """The template context of `kind` (exactly domain.messages.KIND_FIELDS and the common
    fields) from the event's data and the order."""
    common: dict[str, Any] = {"customer_name": order.name, "order_number": order.order_number}
    match kind:
        case K.ORDER_CONFIRMED:
            own: dict[str, Any] = {
                "lines": [
                    {"name": line.name, "quantity": line.quantity, "amount": line.amount}
                    for line in order.lines
                ],
                "total": order.total,
                "currency": order.currency,
                # A pickup order names its store instead; an order that named no address at all
                # (a digital one) lists none.
                "shipping_address": list(order.shipping_address)
                if order.shipping_address is not None
                else (None if order.pickup_location else []),
                "pickup_location": order.pickup_location,
                "promised_date": order.promised_date,
            }
        case K.SHIPPED:
            url = data.get("tracking_url")
            own = {
                "carrier": str(data["carrier"]),
                "tracking_number": str(data["tracking_number"]),
                # Only a web link goes into a button: anything else is left out.
                "tracking_url": url if _is_web_link(url) else None,
                "lines": _items(order, data.get("lines", [])),
                "promised_date": order.promised_date,
            }
        case K.READY_FOR_PICKUP:
            part = order.parts.get(f"fulfillment:{data['fulfillment_id']}")
            own = {
                "pickup_location": order.pickup_location or str(data["location_code"]),
                "pickup_address": [],
                "lines": _items_of_part(order, part),
                "collect_by": None,
            }
        case K.DELIVERED:
            own = {
                "delivered_on": _instant(data["delivered_at"]),
                "lines": _items(order, data.get("lines", [])),
            }
        case K.DELAYED:
            backorder = "reservation_id" in data and "delay_id" not in data
            own = {
                "reason": "backordered" if backorder else str(data.get("reason_code", "")),
                "lines": [
                    {"name": order.name_of_sku(str(line["sku"])), "quantity": int(line["quantity"])}
                    for line in data.get("lines", [])
                ],
                "new_promised_date": None
                if backorder
                else _instant_or_none(data.get("new_estimate")),
                "backorder_date": _instant_or_none(data.get("expected_at")) if backorder else None,
            }
        case K.CANCELLED:
            whole = "cancellation_id" not in data
            own = {
                "reason": str(data.get("reason", "")),
                "lines": _items_of_part(order, None)
                if whole
                else _items(order, data.get("lines", [])),
                "fully_cancelled": whole,
                # Nothing was captured before shipping (the authorisation is voided), so there
                # is no refund to announce for cancelled units.
                "refund_amount": None,
                "currency": order.currency,
            }
        case K.RETURN_APPROVED:
            part = order.parts.get(f"return:{data['return_id']}")
            own = {
                "return_number": str(data["rma_number"]),
                "lines": _items_of_part(order, part) if part is not None else [],
                # The return's label is fetched from returns' API, which the event does not
                # link to: the template writes the in-store or carrier instructions instead.
                "label_url": None,
                "carrier": data.get("carrier"),
                "return_by": None,
            }
        case K.REFUND_ISSUED:
            own = {
                "amount": Decimal(str(data["amount"])),
                "currency": str(data["currency"]),
                "refund_method": str(data.get("method", "payment")),
                "return_number": data.get("rma_number"),
            }
    return {**common, **own}


def _items(order: CustomerOrder, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items = []
    for line in lines:
        known = order.line_named(str(line["line_id"]))
        name = known.name if known is not None else str(line.get("sku") or line["line_id"])
        items.append({"name": name, "quantity": int(line["quantity"])})
    return items


def _items_of_part(order: CustomerOrder, part: Mapping[str, int] | None) -> list[dict[str, Any]]:
    """The part's units, or every line of the order when the part is not known."""
    if part is None:
        return [{"name": line.name, "quantity": line.quantity} for line in order.lines]
    return _items(order, [{"line_id": k, "quantity": q} for k, q in part.items()])


def _is_web_link(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _instant_or_none(value: Any) -> datetime | None:
    return None if value is None else _instant(value)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# --- retries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """A transient failure (a 4xx reply, no answer) is tried again after `first`, doubling up to
    `longest`; after `max_attempts` tries the notification is failed."""

    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(hours=1)
    max_attempts: int = 8


def retry_after(attempts: int, policy: RetryPolicy) -> timedelta | None:
    """How long after the `attempts`-th failed try the next one is; None: no more tries."""
    if attempts >= policy.max_attempts:
        return None
    delay = policy.first * (1 << max(attempts - 1, 0))
    return min(delay, policy.longest)
