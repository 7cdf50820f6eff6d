"""Customer messages: what kinds there are, what each needs to be written, and the ports
through which they are rendered and sent.

The ports are Protocols here, beside the values they carry (as orchestration's payment port
sits in its domain), so the service layer can ask for a message to be rendered or sent
without importing an adapter: `adapters/templating.py`, `adapters/mail.py` and
`adapters/sms.py` implement them, and `bootstrap` hands them over.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from services.notifications.domain.brands import Brand
from services.notifications.domain.localisation import Language


class NotificationKind(StrEnum):
    ORDER_CONFIRMED = "order_confirmed"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    CANCELLED = "cancelled"
    RETURN_APPROVED = "return_approved"
    REFUND_ISSUED = "refund_issued"


# What every message names.
COMMON_FIELDS = frozenset({"customer_name", "order_number"})

# What each kind's templates read besides the common fields: exactly these keys must be in the
# context. A value may be None where the templates write something else instead (no tracking
# link, no date yet, a pickup order's shipping address...). The renderer refuses a context
# with a key missing or unknown, naming it, before any template runs.
#   lines            list of {"name": str, "quantity": int} (order_confirmed: also "amount",
#                    the line's total, a Decimal in the order's currency)
#   shipping_address list of the address's lines (str), or None for a pickup order
#   pickup_location  the store's name (str); None for an order shipped to an address
#   *_date, collect_by, return_by, delivered_on   date (or datetime, shown in the brand's zone)
#   reason           a reason code (DELAY_REASONS, CANCELLATION_REASONS); one the templates do
#                    not know is written as a general apology, never shown raw
#   refund_method    "payment" (back to the original payment) or "store_credit"
KIND_FIELDS: Mapping[NotificationKind, frozenset[str]] = {
    NotificationKind.ORDER_CONFIRMED: frozenset(
        {"lines", "total", "currency", "shipping_address", "pickup_location", "promised_date"}
    ),
    NotificationKind.SHIPPED: frozenset(
        {"carrier", "tracking_number", "tracking_url", "lines", "promised_date"}
    ),
    NotificationKind.READY_FOR_PICKUP: frozenset(
        {"pickup_location", "pickup_address", "lines", "collect_by"}
    ),
    NotificationKind.DELIVERED: frozenset({"delivered_on", "lines"}),
    NotificationKind.DELAYED: frozenset({"reason", "lines", "new_promised_date", "backorder_date"}),
    NotificationKind.CANCELLED: frozenset(
        {"reason", "lines", "fully_cancelled", "refund_amount", "currency"}
    ),
    NotificationKind.RETURN_APPROVED: frozenset(
        {"return_number", "lines", "label_url", "carrier", "return_by"}
    ),
    NotificationKind.REFUND_ISSUED: frozenset(
        {"amount", "currency", "refund_method", "return_number"}
    ),
}

# The reason codes the templates explain in the customer's words: orchestration's
# order_delayed reason codes, and `backordered` for units promised from incoming stock when
# the order was placed.
DELAY_REASONS = frozenset(
    {
        "backordered",
        "inbound_cancelled",
        "inbound_rescheduled",
        "backorder_lapsed",
        "dispatch_overdue",
    }
)
CANCELLATION_REASONS = frozenset(
    {"customer_request", "out_of_stock", "payment_declined", "unroutable"}
)


def context_problems(kind: NotificationKind, context: Mapping[str, Any]) -> list[str]:
    """What is wrong with a template context for `kind`: missing and unknown keys (an unknown
    one is usually a misspelt one, whose value the template would never show), and links that
    are not http(s) (a `javascript:` link survives HTML escaping)."""
    expected = COMMON_FIELDS | KIND_FIELDS[kind]
    problems = [f"missing {name!r}" for name in sorted(expected - context.keys())]
    problems += [f"unknown {name!r}" for name in sorted(context.keys() - expected)]
    for name in sorted(expected & context.keys()):
        value = context[name]
        if name.endswith("_url") and value is not None and not _is_web_link(value):
            problems.append(f"{name!r} is not an http(s) link")
    return problems


def _is_web_link(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class EmailMessage:
    """One e-mail to one customer. `notification_id` names the notification: the same id gives
    the same Message-ID, so a second send of it is recognisably the same message."""

    notification_id: UUID
    to_address: str
    to_name: str | None
    brand: Brand
    language: Language
    content: RenderedMessage


# E.164: a plus, a country code and at most 15 digits in all. A provider refuses anything
# else for good, so no SMS to another form is ever handed over (nor tried again).
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def is_e164(number: str) -> bool:
    return _E164.fullmatch(number) is not None


@dataclass(frozen=True)
class SmsMessage:
    notification_id: UUID
    to_number: str  # E.164, +4915112345678
    sender: str  # the brand's name, as the handset shows it
    text: str


class SendFailed(Exception):
    """A message was not accepted. `transient`: trying again later may work (a connection
    error, a time-out, a 4xx SMTP reply); otherwise it will not (a 5xx reply: unknown mailbox,
    rejected content) and the notification is failed for good."""

    def __init__(self, detail: str, *, transient: bool, code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.transient = transient
        self.code = code


class MessageRenderer(Protocol):
    def render(
        self,
        kind: NotificationKind,
        language: Language,
        brand: Brand,
        context: Mapping[str, Any],
    ) -> RenderedMessage:
        """The e-mail's subject, text and HTML. Raises ValueError for a context that does not
        match the kind (see KIND_FIELDS)."""
        ...

    def render_sms(
        self,
        kind: NotificationKind,
        language: Language,
        brand: Brand,
        context: Mapping[str, Any],
    ) -> str:
        """The SMS text: one line, the same context as the e-mail."""
        ...


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> str:
        """Hand the message over; returns its Message-ID. Raises SendFailed."""
        ...


class SmsSender(Protocol):
    async def send(self, message: SmsMessage) -> str:
        """Hand the SMS over; returns the provider's reference. Raises SendFailed."""
        ...
