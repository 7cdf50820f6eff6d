"""Customer notifications' use cases: what a consumed event adds to the ledger, a resend, and
an opt-out.

A consumed event keeps the order's projection up to date and, if it causes a message
(domain.notices.notice_for), adds its notification, in the transaction of the event's inbox
row: the same event consumed again, or another event about the same business fact, adds
nothing. The message is written and sent later by the sending job (handlers/sending.py).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from libs.ids import new_id
from libs.observability.logging import get_logger
from services.notifications.domain import commands
from services.notifications.domain.errors import (
    CustomerOrderNotFound,
    NotificationNotFound,
    NotificationOptedOut,
)
from services.notifications.domain.notices import (
    Medium,
    NotificationStatus,
    address_lines,
    customer_order_of_placed,
    notice_for,
    part_of,
)
from services.notifications.domain.notification_commands import (
    ResendNotification,
    SetNotificationPreference,
)
from services.notifications.service_layer.unit_of_work import NewNotification, UnitOfWork

log = get_logger(__name__)

SCOPE_RESEND = "notifications-resend"


def order_subject(order_id: UUID) -> str:
    return f"order:{order_id}"


def email_subject(email: str) -> str:
    return f"email:{email.strip().lower()}"


async def record_customer_messages(cmd: commands.RecordEvent, uow: UnitOfWork) -> None:
    """Called for every consumed event, after its webhook deliveries (the order is locked)."""
    if cmd.order_id is None:
        return
    data: dict[str, Any] = dict(cmd.cloud_event.get("data") or {})
    now = uow.clock.now()
    if cmd.event_type == "oms.order.placed":
        try:
            placed = customer_order_of_placed(data)
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            # The contract checked the event; one this service cannot read costs its customer
            # messages, never its webhook deliveries.
            log.error(
                "notifications.unreadable_placement", order_id=str(cmd.order_id), error=repr(exc)
            )
        else:
            await uow.customer_orders.add(placed, cmd.occurred_at)
    elif cmd.event_type == "oms.order.updated":
        customer = data.get("customer") or {}
        delivery = data.get("delivery") or {}
        await uow.customer_orders.change_customer(
            cmd.order_id,
            email=str(customer.get("email", "")),
            name=str(customer.get("name", "")),
            phone=customer.get("phone"),
            shipping_address=None
            if delivery.get("method") == "pickup"
            else address_lines(data.get("shipping_address")),
        )
    try:
        part = part_of(cmd.event_type, data)
        notice = notice_for(cmd.event_type, data)
    except (KeyError, ValueError, TypeError) as exc:
        # As above: an event without what a message needs costs that message only.
        log.error("notifications.unreadable_event", event_id=cmd.event_id, error=repr(exc))
        return
    if part is not None:
        await uow.customer_orders.add_part(cmd.order_id, *part)
    if notice is None:
        return
    order = await uow.customer_orders.get(cmd.order_id)
    email = order.email if order is not None else None
    suppressed = await uow.notifications.opted_out(cmd.order_id, email)
    await uow.notifications.add(
        NewNotification(
            id=new_id(),
            order_id=cmd.order_id,
            kind=notice.kind.value,
            business_key=notice.business_key,
            medium=Medium.EMAIL.value,
            recipient=email,
            language=order.language.value if order is not None else None,
            channel=order.channel if order is not None else None,
            status=(NotificationStatus.SUPPRESSED if suppressed else NotificationStatus.PENDING),
            event_id=cmd.event_id,
            event_type=cmd.event_type,
            event_data=data,
        ),
        now,
    )


async def resend(cmd: ResendNotification, uow: UnitOfWork) -> UUID:
    """The notification pending again, to be sent as soon as the job comes to it (with the
    same Message-ID: the same message). With the same Idempotency-Key, only once."""
    prior = await uow.idempotency.replayed(
        scope=SCOPE_RESEND, key=cmd.idempotency_key, fingerprint=cmd.fingerprint
    )
    if prior is not None and prior.resource_id is not None:
        return UUID(prior.resource_id)
    entry = await uow.notifications.get_for_update(cmd.notification_id)
    if entry is None or not _visible(entry.channel, cmd.allowed_channels):
        raise NotificationNotFound(f"no notification {cmd.notification_id}")
    if await uow.notifications.opted_out(entry.order_id, entry.recipient):
        raise NotificationOptedOut(
            f"order {entry.order_id} or its customer opted out of notifications"
        )
    await uow.notifications.make_pending(entry.id, uow.clock.now())
    await uow.idempotency.complete(resource_id=str(entry.id), status=202)
    return entry.id


async def set_preference(cmd: SetNotificationPreference, uow: UnitOfWork) -> tuple[bool, bool]:
    """(the order opted out, its customer opted out) after the change. The order's own opt-out
    needs no knowledge of the order (it may not have been consumed yet); the customer's needs
    its e-mail address, and a token narrowed to channels needs the order's channel."""
    order = await uow.customer_orders.get(cmd.order_id)
    if cmd.allowed_channels is not None and (
        order is None or order.channel not in cmd.allowed_channels
    ):
        raise CustomerOrderNotFound(f"no order {cmd.order_id}")
    if cmd.whole_customer and order is None:
        raise CustomerOrderNotFound(f"no order {cmd.order_id} (not placed, or not seen yet)")
    now = uow.clock.now()
    await uow.notifications.set_opt_out(order_subject(cmd.order_id), cmd.opted_out, now)
    if cmd.whole_customer and order is not None:
        await uow.notifications.set_opt_out(email_subject(order.email), cmd.opted_out, now)
    return await uow.notifications.opt_outs(
        cmd.order_id, order.email if order is not None else None
    )


def _visible(channel: str | None, allowed: frozenset[str] | None) -> bool:
    return allowed is None or (channel is not None and channel in allowed)
