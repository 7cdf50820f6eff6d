"""Customer e-mails end to end inside notifications: events produced to the real Kafka topics,
consumed through its own consumer and inbox into the notification ledger (real PostgreSQL),
sent by the sending job through real SMTP into the real development sink (aiosmtpd), and read
back from the `.eml` files it wrote."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from libs.contracts.orchestration import FulfillmentShipped, LineQuantity
from libs.contracts.order import EventCustomer, OrderPlaced, OrderStatusChanged, PlacedOrderLine
from libs.runtime import ServiceContainer
from services.notifications.adapters.mail import SmtpEmailSender, SmtpSettings
from services.notifications.adapters.notification_repository import sending_queue
from services.notifications.adapters.sms import SimulatedSmsSender
from services.notifications.adapters.tables import notification
from services.notifications.adapters.templating import default_renderer, load_brand_book
from services.notifications.bootstrap import bootstrap
from services.notifications.config import NotificationsSettings
from services.notifications.domain.notices import RetryPolicy
from services.notifications.service_layer.handlers.sending import NotificationSender
from tests.notifications.integration.test_consumer import consumer_fed, send, topics_of_its_own
from tests.support.environment import TOPIC_PREFIX
from tests.support.mailbox import Mailbox
from tests.support.polling import eventually
from tools import mail_sink


@dataclass
class Sink:
    port: int
    mailbox: Mailbox
    # Where the simulated SMS provider the sending job also holds writes.
    sms_dir: Path


@asynccontextmanager
async def running_sink(folder: Path) -> AsyncIterator[Sink]:
    """The real sink on a free port: `gone-...` answered 550, `busy-...` 451."""
    server = await mail_sink.start(
        folder / "mail", host="127.0.0.1", port=0, reject=[r"gone-.*"], defer=[r"busy-.*"]
    )
    try:
        yield Sink(
            port=mail_sink.bound_port(server),
            mailbox=Mailbox(folder / "mail"),
            sms_dir=folder / "sms",
        )
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[Sink]:
    async with running_sink(tmp_path) as running:
        yield running


# This module's forged events go to topics of its own. On the run's topics the end-to-end
# stack's order-capture and returns would read them later and dead-letter a shipment of an
# order they never took (tests/e2e/test_events_match_their_contracts.py counts dead letters).
OWN_PREFIX = TOPIC_PREFIX + "mail."


@pytest.fixture(scope="module")
async def own_topics(kafka_topics: str) -> AsyncIterator[str]:
    async with topics_of_its_own(OWN_PREFIX) as prefix:
        yield prefix


@pytest.fixture(scope="module")
async def container(migrated_databases: None, own_topics: str) -> AsyncIterator[ServiceContainer]:
    """notifications reading this module's topics (the same database as the others)."""
    c = bootstrap(NotificationsSettings(KAFKA_TOPIC_PREFIX=own_topics))
    yield c
    await c.engine.dispose()


@pytest.fixture
async def producer(container: ServiceContainer) -> AsyncIterator[AIOKafkaProducer]:
    async with consumer_fed(container, "notif-mail-test") as kafka:
        yield kafka


def sender(container: ServiceContainer, sink: Sink, retries: RetryPolicy) -> NotificationSender:
    return NotificationSender(
        queue=sending_queue(container.session_factory),
        renderer=default_renderer(),
        email=SmtpEmailSender(
            SmtpSettings(host="127.0.0.1", port=sink.port, timeout_s=5, start_tls=False)
        ),
        sms=SimulatedSmsSender(sink.sms_dir),
        brands=load_brand_book(),
        clock=container.clock,
        lease=timedelta(seconds=30),
        retries=retries,
    )


NOW_RETRY = RetryPolicy(first=timedelta(0), longest=timedelta(0), max_attempts=2)


def placed(order_id: UUID, email: str) -> OrderPlaced:
    return OrderPlaced(
        order_id=str(order_id),
        order_number=f"WEB-{uuid.uuid4().hex[:8]}",
        channel="web",
        channel_order_ref=uuid.uuid4().hex,
        currency="EUR",
        customer_email=email,
        customer=EventCustomer(email=email, name="Ann Example"),
        lines=[
            PlacedOrderLine(
                # A UUID like every real line's: the other services' consumers read this event
                # from the run's topics too (the end-to-end stack) and would dead-letter it.
                line_id=str(uuid.uuid4()),
                sku="MUG",
                name="Blue mug",
                quantity=2,
                unit_price=Decimal("10"),
            )
        ],
        total_amount=Decimal("20.00"),
        placed_at=datetime.now(UTC),
    )


def confirmed(order: OrderPlaced, sequence: int = 2) -> OrderStatusChanged:
    return OrderStatusChanged(
        order_id=order.order_id,
        order_number=order.order_number,
        sequence=sequence,
        previous_status="pending",
        status="confirmed",
        reason="reserved",
        changed_at=datetime.now(UTC),
    )


def shipped(order: OrderPlaced) -> FulfillmentShipped:
    return FulfillmentShipped(
        order_id=order.order_id,
        fulfillment_id=str(uuid.uuid4()),
        location_code="WH",
        shipment_id=str(uuid.uuid4()),
        carrier="dhl",
        tracking_number="00340434161094042557",
        tracking_url="https://track.example.com/00340434161094042557",
        lines=[LineQuantity(line_id=order.lines[0].line_id, quantity=2)],
        shipped_at=datetime.now(UTC),
    )


async def ledger(container: ServiceContainer, order_id: UUID) -> list[dict[str, Any]]:
    async with container.session_factory() as session:
        rows = await session.execute(
            select(notification)
            .where(notification.c.order_id == order_id)
            .order_by(notification.c.created_at)
        )
        return [dict(r._mapping) for r in rows]


async def recorded(container: ServiceContainer, order_id: UUID, count: int) -> list[dict[str, Any]]:
    return await eventually(
        lambda: ledger(container, order_id),
        until=lambda rows: len(rows) >= count,
        timeout=30,
        what=f"{count} notification(s) of order {order_id}",
    )


async def test_confirmation_and_shipment_are_sent_once_each_even_when_events_come_twice(
    container: ServiceContainer, producer: AIOKafkaProducer, sink: Sink
) -> None:
    order_id = uuid.uuid4()
    order = placed(order_id, "ann@example.com")
    await send(producer, order, str(uuid.uuid4()), prefix=OWN_PREFIX)
    confirmation_id = str(uuid.uuid4())
    await send(producer, confirmed(order), confirmation_id, prefix=OWN_PREFIX)
    await send(
        producer, confirmed(order), confirmation_id, prefix=OWN_PREFIX
    )  # redelivered: same event id
    await send(
        producer, confirmed(order, 3), str(uuid.uuid4()), prefix=OWN_PREFIX
    )  # confirmed again: same fact
    shipment = shipped(order)
    shipment_event = str(uuid.uuid4())
    await send(producer, shipment, shipment_event, prefix=OWN_PREFIX)
    await send(producer, shipment, shipment_event, prefix=OWN_PREFIX)
    # Every event consumed (the shipment comes on another topic than the confirmation).
    await eventually(
        lambda: ledger(container, order_id),
        until=lambda rows: {r["kind"] for r in rows} == {"order_confirmed", "shipped"},
        timeout=30,
        what="both notifications recorded",
    )
    job = sender(container, sink, NOW_RETRY)
    await job.send_due()
    rows = await eventually(
        lambda: ledger(container, order_id),
        until=lambda rows: all(r["status"] == "sent" for r in rows),
        timeout=15,
        what="both sent",
    )
    assert sorted(r["kind"] for r in rows) == ["order_confirmed", "shipped"]
    assert {r["recipient"] for r in rows} == {"ann@example.com"}

    mine = [m for m in sink.mailbox.messages() if order.order_number in m.subject]
    assert len(mine) == 2, [m.subject for m in mine]
    confirmation = next(m for m in mine if "confirmed" in m.subject.lower())
    shipment_mail = next(m for m in mine if m is not confirmation)
    assert confirmation.to_address == "ann@example.com"
    assert "Blue mug" in confirmation.text
    assert "https://track.example.com/00340434161094042557" in shipment_mail.text
    assert "https://track.example.com/00340434161094042557" in shipment_mail.html
    by_kind = {r["kind"]: r for r in rows}
    assert confirmation.message_id == by_kind["order_confirmed"]["message_id"]
    assert str(by_kind["order_confirmed"]["id"]) in confirmation.message_id

    # Nothing left to do: another round sends nothing again.
    await job.send_due()
    assert len(sink.mailbox.matching(lambda m: order.order_number in m.subject)) == 2


async def test_an_opted_out_order_is_recorded_suppressed_and_nothing_is_sent(
    container: ServiceContainer,
    producer: AIOKafkaProducer,
    sink: Sink,
    client: httpx.AsyncClient,
) -> None:
    order_id = uuid.uuid4()
    r = await client.put(f"/v1/notification-preferences/{order_id}", json={"opted_out": True})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "order_id": str(order_id),
        "order_opted_out": True,
        "customer_opted_out": False,
    }
    order = placed(order_id, "quiet@example.com")
    await send(producer, order, str(uuid.uuid4()), prefix=OWN_PREFIX)
    await send(producer, confirmed(order), str(uuid.uuid4()), prefix=OWN_PREFIX)
    (row,) = await recorded(container, order_id, 1)
    assert row["status"] == "suppressed"
    await sender(container, sink, NOW_RETRY).send_due()
    assert not sink.mailbox.matching(lambda m: order.order_number in m.subject)

    # A resend of it is refused while the order is opted out.
    r = await client.post(f"/v1/notifications/{row['id']}/resend")
    assert r.status_code == 409 and r.json()["code"] == "notification_opted_out"


async def test_a_451_is_tried_again_and_a_550_fails_for_good(
    container: ServiceContainer, producer: AIOKafkaProducer, sink: Sink
) -> None:
    busy, gone = uuid.uuid4(), uuid.uuid4()
    for order_id, email in (
        (busy, f"busy-{busy}@example.com"),
        (gone, f"gone-{gone}@example.com"),
    ):
        order = placed(order_id, email)
        await send(producer, order, str(uuid.uuid4()), prefix=OWN_PREFIX)
        await send(producer, confirmed(order), str(uuid.uuid4()), prefix=OWN_PREFIX)
        await recorded(container, order_id, 1)
    job = sender(container, sink, NOW_RETRY)
    await job.send_due()
    (deferred,) = await ledger(container, busy)
    (refused,) = await ledger(container, gone)
    assert (deferred["status"], deferred["attempts"]) == ("pending", 1)
    assert "451" in deferred["last_error"]
    assert (refused["status"], refused["attempts"]) == ("failed", 1)
    assert "550" in refused["last_error"]
    # Tried again when due (at once here): the second 451 is the last attempt allowed.
    await job.send_due()
    (deferred,) = await ledger(container, busy)
    assert (deferred["status"], deferred["attempts"]) == ("failed", 2)
    assert sink.mailbox.messages() == [], "neither was accepted by the sink"


async def test_the_ledger_lists_an_orders_notifications_and_a_resend_sends_the_same_message(
    container: ServiceContainer,
    producer: AIOKafkaProducer,
    sink: Sink,
    client: httpx.AsyncClient,
) -> None:
    order_id = uuid.uuid4()
    order = placed(order_id, "bob@example.com")
    await send(producer, order, str(uuid.uuid4()), prefix=OWN_PREFIX)
    await send(producer, confirmed(order), str(uuid.uuid4()), prefix=OWN_PREFIX)
    await recorded(container, order_id, 1)
    job = sender(container, sink, NOW_RETRY)
    await job.send_due()

    r = await client.get("/v1/notifications", params={"order_id": str(order_id)})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert (item["kind"], item["status"], item["recipient"]) == (
        "order_confirmed",
        "sent",
        "bob@example.com",
    )
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(f"/v1/notifications/{item['id']}/resend", headers=key)
    assert first.status_code == 202 and first.json()["status"] == "pending"
    await job.send_due()
    again = await client.post(f"/v1/notifications/{item['id']}/resend", headers=key)
    # The same key again: answered, not made pending a second time.
    assert again.status_code == 202 and again.json()["status"] == "sent"
    mails = sink.mailbox.matching(lambda m: order.order_number in m.subject)
    assert len(mails) == 2
    assert {m.message_id for m in mails} == {item["message_id"]}
