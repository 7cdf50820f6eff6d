"""Customer SMS beside the e-mail, on the in-memory fakes: which notices are texted and once,
and how the sending job hands an SMS to the provider's port (no database, no broker, no
provider)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from services.notifications.adapters.templating import default_renderer, load_brand_book
from services.notifications.config import NotificationsSettings
from services.notifications.domain import commands
from services.notifications.domain.delivery import RetryPolicy as DeliveryRetryPolicy
from services.notifications.domain.errors import NotificationOptedOut
from services.notifications.domain.messages import (
    EmailMessage,
    NotificationKind,
    SendFailed,
    SmsMessage,
)
from services.notifications.domain.notices import (
    SMS_KINDS_BY_DEFAULT,
    CustomerOrder,
    RetryPolicy,
    customer_order_of_placed,
)
from services.notifications.domain.notification_commands import (
    ResendNotification,
    SetNotificationPreference,
)
from services.notifications.domain.targets import TargetPolicy
from services.notifications.messaging.subscriptions import KNOWN_EVENT_TYPES
from services.notifications.service_layer.handlers import handlers
from services.notifications.service_layer.handlers.endpoints import EndpointRules
from services.notifications.service_layer.handlers.sending import (
    Claimed,
    NotificationSender,
    Outcome,
)
from services.notifications.service_layer.unit_of_work import NewNotification
from tests.notifications.unit.fakes import FakeDatabase, FakeUnitOfWork
from tests.notifications.unit.test_notices import EVENTS, placed

K = NotificationKind
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PHONE = "+4915112345678"
RULES = EndpointRules(TargetPolicy(require_https=True, allow_private=False), KNOWN_EVENT_TYPES)


class Clock:
    def now(self) -> datetime:
        return NOW


class Service:
    """The event and notification handlers as the bus runs them (a unit of work each)."""

    def __init__(self, sms_kinds: frozenset[str] = SMS_KINDS_BY_DEFAULT) -> None:
        self.db = FakeDatabase()
        self.handlers = handlers(RULES, DeliveryRetryPolicy(), sms_kinds)

    async def handle(self, message: object) -> Any:
        async with FakeUnitOfWork(self.db, Clock()) as uow:
            result = await self.handlers[type(message)](message, uow)
            await uow.commit()
        return result

    def ledger(self, order_id: UUID) -> list[NewNotification]:
        return [n for n in self.db.notifications.values() if n.order_id == order_id]

    def media(self, order_id: UUID) -> list[tuple[str, str]]:
        return sorted((n.kind, n.medium) for n in self.ledger(order_id))


def event(event_type: str, order_id: UUID, data: dict[str, Any]) -> commands.RecordEvent:
    event_id = str(uuid.uuid4())
    body = {**data, "order_id": str(order_id)}
    return commands.RecordEvent(
        event_id=event_id,
        event_type=event_type,
        occurred_at=NOW,
        key=str(order_id),
        order_id=order_id,
        channel=body.get("channel") if event_type == "oms.order.placed" else None,
        cloud_event={"id": event_id, "type": event_type, "data": body},
    )


def placement(order_id: UUID, **over: Any) -> commands.RecordEvent:
    return event("oms.order.placed", order_id, placed(order_id=str(order_id), **over))


def of_kind(kind: NotificationKind, order_id: UUID) -> commands.RecordEvent:
    event_type, data = EVENTS[kind]
    return event(event_type, order_id, data)


def without_phone() -> dict[str, Any]:
    return {"customer": {"email": "ann@example.com", "name": "Ann Example"}}


# --- which notices are texted -----------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(SMS_KINDS_BY_DEFAULT))
async def test_a_texted_kind_is_recorded_once_per_medium_even_when_the_event_comes_twice(
    kind: NotificationKind,
) -> None:
    service, order_id = Service(), uuid.uuid4()
    await service.handle(placement(order_id))
    notice = of_kind(kind, order_id)
    await service.handle(notice)
    await service.handle(notice)  # redelivered
    await service.handle(of_kind(kind, order_id))  # another event of the same fact
    assert service.media(order_id) == [(kind.value, "email"), (kind.value, "sms")]
    sms = next(n for n in service.ledger(order_id) if n.medium == "sms")
    assert (sms.recipient, sms.status, sms.channel) == (PHONE, "pending", "web")


@pytest.mark.parametrize("kind", sorted(set(K) - SMS_KINDS_BY_DEFAULT))
async def test_the_other_kinds_go_by_e_mail_only(kind: NotificationKind) -> None:
    service, order_id = Service(), uuid.uuid4()
    await service.handle(placement(order_id))
    await service.handle(of_kind(kind, order_id))
    assert service.media(order_id) == [(kind.value, "email")]


async def test_an_order_without_a_phone_number_is_not_texted() -> None:
    service, order_id = Service(), uuid.uuid4()
    await service.handle(placement(order_id, **without_phone()))
    await service.handle(of_kind(K.SHIPPED, order_id))
    assert service.media(order_id) == [("shipped", "email")]


async def test_no_kinds_texted_no_sms() -> None:
    service, order_id = Service(sms_kinds=frozenset()), uuid.uuid4()
    await service.handle(placement(order_id))
    await service.handle(of_kind(K.SHIPPED, order_id))
    assert service.media(order_id) == [("shipped", "email")]


async def test_a_notice_consumed_before_its_placement_is_texted_when_the_placement_comes() -> None:
    service, order_id = Service(), uuid.uuid4()
    shipment = of_kind(K.SHIPPED, order_id)
    await service.handle(shipment)
    await service.handle(of_kind(K.ORDER_CONFIRMED, order_id))
    assert service.media(order_id) == [("order_confirmed", "email"), ("shipped", "email")]
    await service.handle(placement(order_id))
    assert service.media(order_id) == [
        ("order_confirmed", "email"),
        ("shipped", "email"),
        ("shipped", "sms"),
    ]
    sms = next(n for n in service.ledger(order_id) if n.medium == "sms")
    # What the SMS says is the shipment's, as the e-mail's is.
    assert (sms.event_id, sms.event_type, sms.recipient) == (
        shipment.event_id,
        shipment.event_type,
        PHONE,
    )
    # The shipment redelivered now adds nothing.
    await service.handle(shipment)
    assert len(service.ledger(order_id)) == 3


async def test_an_opt_out_suppresses_both_media_and_refuses_a_resend_of_either() -> None:
    service, order_id = Service(), uuid.uuid4()
    await service.handle(placement(order_id))
    await service.handle(
        SetNotificationPreference(
            order_id, opted_out=True, whole_customer=True, allowed_channels=None
        )
    )
    await service.handle(of_kind(K.DELIVERED, order_id))
    assert {(n.medium, n.status) for n in service.ledger(order_id)} == {
        ("email", "suppressed"),
        ("sms", "suppressed"),
    }
    # The order opted in again, its customer (by e-mail address) still out: an SMS, whose
    # recipient is a phone number, is refused by the customer's opt-out all the same.
    await service.handle(
        SetNotificationPreference(
            order_id, opted_out=False, whole_customer=False, allowed_channels=None
        )
    )
    for n in service.ledger(order_id):
        with pytest.raises(NotificationOptedOut):
            await service.handle(ResendNotification(n.id, None, fingerprint=""))
    assert service.db.pending_again == []


async def test_a_resend_of_an_sms_makes_it_pending_again() -> None:
    service, order_id = Service(), uuid.uuid4()
    await service.handle(placement(order_id))
    await service.handle(of_kind(K.SHIPPED, order_id))
    sms = next(n for n in service.ledger(order_id) if n.medium == "sms")
    assert await service.handle(ResendNotification(sms.id, None, fingerprint="")) == sms.id
    assert service.db.pending_again == [sms.id]


def test_the_setting_lists_the_kinds_texted_and_refuses_an_unknown_one() -> None:
    assert NotificationsSettings().sms_kinds == SMS_KINDS_BY_DEFAULT
    assert NotificationsSettings(SMS_KINDS="").sms_kinds == frozenset()
    assert NotificationsSettings(SMS_KINDS=" shipped, delivered ").sms_kinds == {
        K.SHIPPED,
        K.DELIVERED,
    }
    with pytest.raises(ValueError, match="shiped"):
        NotificationsSettings(SMS_KINDS="shiped")


# --- the sending job --------------------------------------------------------------------------


@dataclass
class FakeQueue:
    due: list[Claimed]
    outcomes: list[Outcome] = field(default_factory=list)

    async def claim_due(self, now: datetime, limit: int, *, lease: timedelta) -> list[Claimed]:
        taken, self.due = self.due[:limit], self.due[limit:]
        return taken

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        self.outcomes.extend(outcomes)


@dataclass
class Provider:
    """An SMS provider or an SMTP server: takes what it is handed, or refuses it."""

    failure: SendFailed | None = None
    taken: list[Any] = field(default_factory=list)

    async def send(self, message: Any) -> str:
        if self.failure is not None:
            raise self.failure
        self.taken.append(message)
        return f"ref-{len(self.taken)}"


@dataclass
class Job:
    queue: FakeQueue
    email: Provider
    sms: Provider
    sender: NotificationSender

    async def run(self) -> Outcome:
        await self.sender.send_due()
        (outcome,) = self.queue.outcomes
        return outcome


def a_job(*claimed: Claimed, sms: Provider | None = None) -> Job:
    queue, email, texts = FakeQueue(list(claimed)), Provider(), sms or Provider()

    @asynccontextmanager
    async def open_queue() -> AsyncIterator[FakeQueue]:
        yield queue

    sender = NotificationSender(
        queue=open_queue,
        renderer=default_renderer(),
        email=email,
        sms=texts,
        brands=load_brand_book(),
        clock=Clock(),
        lease=timedelta(seconds=30),
        retries=RetryPolicy(first=timedelta(seconds=30), max_attempts=3),
    )
    return Job(queue, email, texts, sender)


def shipped_order(phone: str | None = PHONE) -> CustomerOrder:
    return replace(customer_order_of_placed(placed()), phone=phone)


def claimed(
    medium: str = "sms",
    *,
    order: CustomerOrder | None = None,
    attempts: int = 0,
    opted_out: bool = False,
) -> Claimed:
    order = order or shipped_order()
    return Claimed(
        id=uuid.uuid4(),
        order_id=order.order_id,
        kind=K.SHIPPED.value,
        medium=medium,
        attempts=attempts,
        event_data=EVENTS[K.SHIPPED][1],
        order=order,
        opted_out=opted_out,
        lease_until=NOW + timedelta(seconds=30),
    )


async def test_an_sms_is_written_from_its_template_and_handed_to_the_provider() -> None:
    n = claimed()
    job = a_job(n)
    outcome = await job.run()
    (message,) = job.sms.taken
    assert job.email.taken == []
    assert isinstance(message, SmsMessage)
    assert (message.notification_id, message.to_number) == (n.id, PHONE)
    assert message.sender == load_brand_book().for_channel("web").name
    assert "WEB-1001" in message.text and "https://track.example.com/0034" in message.text
    assert "\n" not in message.text
    assert (outcome.status, outcome.attempts, outcome.message_id, outcome.recipient) == (
        "sent",
        1,
        "ref-1",
        PHONE,
    )


async def test_the_e_mail_of_the_same_fact_still_goes_by_smtp() -> None:
    job = a_job(claimed("email"))
    outcome = await job.run()
    (message,) = job.email.taken
    assert isinstance(message, EmailMessage) and message.to_address == "ann@example.com"
    assert job.sms.taken == []
    assert (outcome.status, outcome.recipient) == ("sent", "ann@example.com")


@pytest.mark.parametrize("phone", ["015112345678", "+49 151 12345678", "+0151123456", ""])
async def test_a_number_not_in_e164_fails_for_good_without_reaching_the_provider(
    phone: str,
) -> None:
    job = a_job(claimed(order=shipped_order(phone)))
    outcome = await job.run()
    assert job.sms.taken == []
    assert (outcome.status, outcome.attempts, outcome.next_attempt_at) == ("failed", 1, None)
    assert outcome.last_error == f"not an E.164 number: {phone!r}"


async def test_a_phone_number_removed_since_fails_the_sms() -> None:
    job = a_job(claimed(order=shipped_order(None)))
    outcome = await job.run()
    assert (outcome.status, outcome.last_error) == (
        "failed",
        "the order has no phone number any more",
    )


async def test_a_provider_outage_is_tried_again_backing_off_until_the_last_attempt() -> None:
    outage = Provider(SendFailed("simulated provider outage", transient=True, code=503))
    first = await a_job(claimed(), sms=outage).run()
    assert (first.status, first.attempts, first.last_error) == (
        "pending",
        1,
        "simulated provider outage",
    )
    assert first.next_attempt_at == NOW + timedelta(seconds=30)
    last = await a_job(claimed(attempts=2), sms=outage).run()
    assert (last.status, last.attempts, last.next_attempt_at) == ("failed", 3, None)


async def test_a_number_the_provider_refuses_fails_for_good() -> None:
    refused = Provider(SendFailed("unknown number", transient=False, code=400))
    outcome = await a_job(claimed(), sms=refused).run()
    assert (outcome.status, outcome.attempts, outcome.last_error) == (
        "failed",
        1,
        "unknown number",
    )


async def test_an_opted_out_sms_is_suppressed_unsent() -> None:
    job = a_job(claimed(opted_out=True))
    outcome = await job.run()
    assert job.sms.taken == []
    assert outcome.status == "suppressed"
