"""The sending job: pending notifications written and handed to the SMTP server (e-mails) or
the SMS provider (SMS, by the SmsSender port), under the same rules for both.

Each batch claims its notifications in one short transaction (FOR UPDATE SKIP LOCKED, then a
lease, so processes running the job at once take different ones, and one that dies leaves
them to another after the lease), renders and sends each outside any transaction (an SMTP
server may take seconds), and records the outcomes in a second short transaction: sent (with
the Message-ID), tried again later after a transient failure (backing off), or failed for
good. Delivery is at least once: a process that dies after the server took a message and
before recording it sends it again after the lease, under the same Message-ID (made from the
notification's id), so it is recognisably the same message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from libs.clock import Clock
from libs.jobs import PeriodicJob
from libs.observability.logging import get_logger
from services.notifications.domain.brands import Brand, BrandBook
from services.notifications.domain.messages import (
    EmailMessage,
    EmailSender,
    MessageRenderer,
    NotificationKind,
    SendFailed,
    SmsMessage,
    SmsSender,
    is_e164,
)
from services.notifications.domain.notices import (
    CustomerOrder,
    Medium,
    NotificationStatus,
    RetryPolicy,
    context_for,
    retry_after,
)
from services.notifications.service_layer.handlers import metrics

log = get_logger(__name__)

BATCH = 20
# Messages handed to the server at once: a few connections, not one per notification.
CONCURRENCY = 4
# A notification whose order has not been seen placed yet (its placement is consumed from
# another topic than, say, a shipment) waits this long for it before looking again.
ORDER_NOT_SEEN_WAIT = timedelta(seconds=5)
# How long it waits for it at most, in attempts of the above: then it fails, named.
ORDER_NOT_SEEN_TRIES = 120


@dataclass(frozen=True)
class Claimed:
    id: UUID
    order_id: UUID
    kind: str
    medium: str
    attempts: int
    event_data: Mapping[str, Any]
    order: CustomerOrder | None
    opted_out: bool
    lease_until: datetime


@dataclass(frozen=True)
class Outcome:
    id: UUID
    lease_until: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None = None
    message_id: str | None = None
    sent_at: datetime | None = None
    recipient: str | None = None
    language: str | None = None
    channel: str | None = None


class SendingQueue(Protocol):
    async def claim_due(self, now: datetime, limit: int, *, lease: timedelta) -> list[Claimed]: ...

    async def record(self, outcomes: Sequence[Outcome], now: datetime) -> None: ...


QueueFactory = Callable[[], AbstractAsyncContextManager[SendingQueue]]


class NotificationSender:
    def __init__(
        self,
        *,
        queue: QueueFactory,
        renderer: MessageRenderer,
        email: EmailSender,
        sms: SmsSender,
        brands: BrandBook,
        clock: Clock,
        lease: timedelta,
        retries: RetryPolicy,
    ) -> None:
        self._queue = queue
        self._renderer = renderer
        self._email = email
        self._sms = sms
        self._brands = brands
        self._clock = clock
        self._lease = lease
        self._retries = retries

    def jobs(self, interval_s: float) -> list[PeriodicJob]:
        return [
            PeriodicJob(name="send-notifications", interval_s=interval_s, run_once=self.send_due)
        ]

    async def send_due(self) -> int:
        """One batch; how many notifications it took (0: nothing was due)."""
        async with self._queue() as queue:
            claimed = await queue.claim_due(self._clock.now(), BATCH, lease=self._lease)
        if not claimed:
            return 0
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(notification: Claimed) -> Outcome:
            async with gate:
                return await self._send_one(notification)

        outcomes = await asyncio.gather(*(one(n) for n in claimed))
        async with self._queue() as queue:
            await queue.record(outcomes, self._clock.now())
        for notification, outcome in zip(claimed, outcomes, strict=True):
            if notification.order is None and outcome.status == NotificationStatus.PENDING:
                continue  # waiting for the order's placement: nothing was tried
            label = "retry" if outcome.status == NotificationStatus.PENDING else outcome.status
            metrics.customer_message(notification.medium, notification.kind, label)
        return len(claimed)

    async def _send_one(self, n: Claimed) -> Outcome:
        order = n.order
        if n.opted_out:
            return self._outcome(n, NotificationStatus.SUPPRESSED, n.attempts)
        if order is None:
            if n.attempts + 1 >= ORDER_NOT_SEEN_TRIES:
                return self._failed(n, n.attempts + 1, "the order's placement was never seen")
            # Not an attempt at sending: counted, so a placement that never comes ends it.
            return Outcome(
                id=n.id,
                lease_until=n.lease_until,
                status=NotificationStatus.PENDING,
                attempts=n.attempts + 1,
                next_attempt_at=self._clock.now() + ORDER_NOT_SEEN_WAIT,
                last_error="waiting for the order's placement",
            )
        attempts = n.attempts + 1
        medium = Medium(n.medium)
        recipient = order.email if medium is Medium.EMAIL else order.phone
        facts = {"recipient": recipient, "language": order.language, "channel": order.channel}
        if recipient is None or (medium is Medium.SMS and not is_e164(recipient)):
            # An SMS no provider takes, now or later: failed at once, never handed over.
            error = (
                "the order has no phone number any more"
                if recipient is None
                else f"not an E.164 number: {recipient!r}"
            )
            return self._failed(n, attempts, error, **facts)
        brand = self._brands.for_channel(order.channel)
        kind = NotificationKind(n.kind)
        try:
            message = self._write(n, medium, kind, order, brand, recipient)
        except (ValueError, KeyError, TypeError) as exc:
            # A context the templates refuse, or an event without what the message needs:
            # trying again renders the same.
            log.error("notification.unrenderable", notification_id=str(n.id), error=repr(exc))
            return self._failed(n, attempts, f"cannot write the message: {exc}", **facts)
        try:
            message_id = await self._hand_over(message)
        except SendFailed as failure:
            delay = retry_after(attempts, self._retries) if failure.transient else None
            if delay is None:
                log.warning("notification.failed", notification_id=str(n.id), error=failure.detail)
                return self._failed(n, attempts, failure.detail, **facts)
            log.info(
                "notification.retry",
                notification_id=str(n.id),
                error=failure.detail,
                retry_in_s=delay.total_seconds(),
            )
            return Outcome(
                id=n.id,
                lease_until=n.lease_until,
                status=NotificationStatus.PENDING,
                attempts=attempts,
                next_attempt_at=self._clock.now() + delay,
                last_error=failure.detail,
                recipient=recipient,
                language=order.language.value,
                channel=order.channel,
            )
        now = self._clock.now()
        return Outcome(
            id=n.id,
            lease_until=n.lease_until,
            status=NotificationStatus.SENT,
            attempts=attempts,
            next_attempt_at=None,
            message_id=message_id,
            sent_at=now,
            recipient=recipient,
            language=order.language.value,
            channel=order.channel,
        )

    def _write(
        self,
        n: Claimed,
        medium: Medium,
        kind: NotificationKind,
        order: CustomerOrder,
        brand: Brand,
        recipient: str,
    ) -> EmailMessage | SmsMessage:
        """The message, rendered from the same context whichever the medium."""
        context = context_for(kind, n.event_data, order)
        if medium is Medium.SMS:
            return SmsMessage(
                notification_id=n.id,
                to_number=recipient,
                sender=brand.name,
                text=self._renderer.render_sms(kind, order.language, brand, context),
            )
        return EmailMessage(
            notification_id=n.id,
            to_address=recipient,
            to_name=order.name or None,
            brand=brand,
            language=order.language,
            content=self._renderer.render(kind, order.language, brand, context),
        )

    async def _hand_over(self, message: EmailMessage | SmsMessage) -> str:
        """The e-mail's Message-ID or the SMS provider's reference. Raises SendFailed."""
        if isinstance(message, SmsMessage):
            return await self._sms.send(message)
        return await self._email.send(message)

    def _outcome(self, n: Claimed, status: NotificationStatus, attempts: int) -> Outcome:
        return Outcome(
            id=n.id,
            lease_until=n.lease_until,
            status=status,
            attempts=attempts,
            next_attempt_at=None,
        )

    def _failed(self, n: Claimed, attempts: int, error: str, **facts: Any) -> Outcome:
        language = facts.get("language")
        return Outcome(
            id=n.id,
            lease_until=n.lease_until,
            status=NotificationStatus.FAILED,
            attempts=attempts,
            next_attempt_at=None,
            last_error=error,
            recipient=facts.get("recipient"),
            language=language.value if language is not None else None,
            channel=facts.get("channel"),
        )
