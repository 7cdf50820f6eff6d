"""Customer notifications' use cases: what a consumed event adds to the ledger, a resend, and
an opt-out.

A consumed event keeps the order's projection up to date and, if it causes a message
(domain.notices.notice_for), adds its notification (by e-mail, and by SMS too for the kinds
texted to an order with a phone number), in the transaction of the event's inbox
row: the same event consumed again, or another event about the same business fact, adds
nothing. The message is written and sent later by the sending job (handlers/sending.py).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
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
from services.notifications.domain.messages import NotificationKind
from services.notifications.domain.notices import (
    CustomerOrder,
    Medium,
    NotificationStatus,
    address_lines,
    customer_order_of_placed,
    notice_for,
    part_of,
    texted,
)
from services.notifications.domain.notification_commands import (
    ResendNotification,
    SetNotificationPreference,
)
from services.notifications.service_layer.unit_of_work import (
    NewNotification,
    RecordedNotice,
    UnitOfWork,
)

log = get_logger(__name__)

SCOPE_RESEND = "notifications-resend"


def order_subject(order_id: UUID) -> str:
    return f"order:{order_id}"


def email_subject(email: str) -> str:
    return f"email:{email.strip().lower()}"


async def record_customer_messages(
    cmd: commands.RecordEvent, uow: UnitOfWork, sms_kinds: Collection[str] = frozenset()
) -> None:
    """Called for every consumed event, after its webhook deliveries (the order is locked).
    A notice goes by e-mail, and by SMS too for the `sms_kinds` when the order has a phone
    number: one ledger row per medium."""
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
            await _text_what_came_before(cmd.order_id, uow, sms_kinds, now)
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
    fact = RecordedNotice(
        kind=notice.kind.value,
        business_key=notice.business_key,
        event_id=cmd.event_id,
        event_type=cmd.event_type,
        event_data=data,
    )
    await uow.notifications.add(
        _notification(cmd.order_id, fact, Medium.EMAIL, email, order, suppressed=suppressed),
        now,
    )
    # An order not seen placed yet: its placement, when it comes, adds the SMS (below).
    if order is not None and texted(notice.kind, order, sms_kinds):
        await uow.notifications.add(
            _notification(
                cmd.order_id, fact, Medium.SMS, order.phone, order, suppressed=suppressed
            ),
            now,
        )


async def _text_what_came_before(
    order_id: UUID, uow: UnitOfWork, sms_kinds: Collection[str], now: datetime
) -> None:
    """The SMS of the notices recorded before the order's placement was consumed (a shipment
    read first from another topic): they were recorded by e-mail only, the phone number not
    known yet. The order's events are handled one at a time (it is locked), so one of the
    two always sees the other."""
    order = await uow.customer_orders.get(order_id)
    if order is None or not order.phone:
        return
    earlier = [
        fact
        for fact in await uow.notifications.recorded(order_id, Medium.EMAIL.value)
        if texted(NotificationKind(fact.kind), order, sms_kinds)
    ]
    if not earlier:
        return
    suppressed = await uow.notifications.opted_out(order_id, order.email)
    for fact in earlier:
        await uow.notifications.add(
            _notification(order_id, fact, Medium.SMS, order.phone, order, suppressed=suppressed),
            now,
        )


def _notification(
    order_id: UUID,
    fact: RecordedNotice,
    medium: Medium,
    recipient: str | None,
    order: CustomerOrder | None,
    *,
    suppressed: bool,
) -> NewNotification:
    return NewNotification(
        id=new_id(),
        order_id=order_id,
        kind=fact.kind,
        business_key=fact.business_key,
        medium=medium.value,
        recipient=recipient,
        language=order.language.value if order is not None else None,
        channel=order.channel if order is not None else None,
        status=(NotificationStatus.SUPPRESSED if suppressed else NotificationStatus.PENDING),
        event_id=fact.event_id,
        event_type=fact.event_type,
        event_data=fact.event_data,
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
    # The customer's opt-out is by e-mail address, whichever medium the notification went
    # by (an SMS's recipient is a phone number).
    order = await uow.customer_orders.get(entry.order_id)
    if order is not None:
        email: str | None = order.email
    else:
        email = entry.recipient if entry.medium == Medium.EMAIL else None
    if await uow.notifications.opted_out(entry.order_id, email):
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
