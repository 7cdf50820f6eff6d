"""Customer SMS end to end inside notifications: events produced to the real Kafka topics,
consumed through its own consumer and inbox into the notification ledger (real PostgreSQL),
sent by the sending job through the simulated SMS provider, and read back from the JSON lines
it wrote; the e-mails beside them go through real SMTP into the development sink."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from libs.contracts.order import EventCustomer, OrderPlaced
from libs.runtime import ServiceContainer
from services.notifications.bootstrap import bootstrap
from services.notifications.config import NotificationsSettings
from tests.notifications.integration.test_consumer import consumer_fed, send, topics_of_its_own
from tests.notifications.integration.test_customer_emails import (
    NOW_RETRY,
    Sink,
    confirmed,
    ledger,
    placed,
    running_sink,
    sender,
    shipped,
)
from tests.support.environment import TOPIC_PREFIX
from tests.support.polling import eventually

PHONE = "+4915112345678"

# This module's forged events go to topics of its own, as the e-mail tests' do: on the run's
# topics the end-to-end stack's services would read them and dead-letter them.
OWN_PREFIX = TOPIC_PREFIX + "sms."


@pytest.fixture(scope="module")
async def own_topics(kafka_topics: str) -> AsyncIterator[str]:
    async with topics_of_its_own(OWN_PREFIX) as prefix:
        yield prefix


@pytest.fixture(scope="module")
async def container(migrated_databases: None, own_topics: str) -> AsyncIterator[ServiceContainer]:
    """notifications reading this module's topics, texting its default kinds."""
    c = bootstrap(NotificationsSettings(KAFKA_TOPIC_PREFIX=own_topics))
    yield c
    await c.engine.dispose()


@pytest.fixture
async def producer(container: ServiceContainer) -> AsyncIterator[AIOKafkaProducer]:
    async with consumer_fed(container, "notif-sms-test") as kafka:
        yield kafka


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[Sink]:
    async with running_sink(tmp_path) as running:
        yield running


def with_phone(order_id: UUID, email: str) -> OrderPlaced:
    order = placed(order_id, email)
    return order.model_copy(
        update={"customer": EventCustomer(email=email, name="Ann Example", phone=PHONE)}
    )


def texts(folder: Path) -> list[dict[str, Any]]:
    """Every SMS the simulated provider took, from its files (one JSON object a line)."""
    if not folder.exists():
        return []
    return [
        json.loads(line)
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def media(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["kind"], r["medium"]) for r in rows}


SHIPPED_BOTH_WAYS_AND_CONFIRMED = {
    ("order_confirmed", "email"),
    ("shipped", "email"),
    ("shipped", "sms"),
}


async def test_a_shipment_is_texted_once_even_when_it_comes_twice_and_a_confirmation_is_not(
    container: ServiceContainer, producer: AIOKafkaProducer, sink: Sink, client: httpx.AsyncClient
) -> None:
    order_id = uuid.uuid4()
    order = with_phone(order_id, "ann@example.com")
    await send(producer, order, str(uuid.uuid4()), prefix=OWN_PREFIX)
    await send(producer, confirmed(order), str(uuid.uuid4()), prefix=OWN_PREFIX)
    shipment = shipped(order)
    shipment_event = str(uuid.uuid4())
    await send(producer, shipment, shipment_event, prefix=OWN_PREFIX)
    await send(producer, shipment, shipment_event, prefix=OWN_PREFIX)  # redelivered
    await send(producer, shipment, str(uuid.uuid4()), prefix=OWN_PREFIX)  # the same shipment
    # The shipment comes on another topic than the placement: whichever is consumed first,
    # the SMS is recorded once the order's phone number is known.
    await eventually(
        lambda: ledger(container, order_id),
        until=lambda rows: media(rows) == SHIPPED_BOTH_WAYS_AND_CONFIRMED,
        timeout=30,
        what="the confirmation's e-mail and the shipment's e-mail and SMS recorded",
    )
    job = sender(container, sink, NOW_RETRY)
    await job.send_due()
    rows = await eventually(
        lambda: ledger(container, order_id),
        until=lambda rows: all(r["status"] == "sent" for r in rows),
        timeout=15,
        what="all sent",
    )
    assert len(rows) == 3 and media(rows) == SHIPPED_BOTH_WAYS_AND_CONFIRMED
    sms_row = next(r for r in rows if r["medium"] == "sms")
    assert sms_row["recipient"] == PHONE

    (text,) = [t for t in texts(sink.sms_dir) if order.order_number in t["text"]]
    assert text["notification_id"] == str(sms_row["id"])
    assert text["to"] == PHONE
    assert text["provider_reference"] == sms_row["message_id"]
    assert shipment.tracking_url is not None and shipment.tracking_url in text["text"]
    # The e-mails went as before, the confirmation by e-mail only.
    assert len(sink.mailbox.matching(lambda m: order.order_number in m.subject)) == 2

    # Nothing left to do: another round texts nothing again.
    await job.send_due()
    assert len([t for t in texts(sink.sms_dir) if order.order_number in t["text"]]) == 1

    # The ledger shows the medium and the number; a resend texts again.
    r = await client.get("/v1/notifications", params={"order_id": str(order_id)})
    assert r.status_code == 200, r.text
    listed = {(item["kind"], item["medium"]): item for item in r.json()["items"]}
    assert set(listed) == SHIPPED_BOTH_WAYS_AND_CONFIRMED
    assert listed[("shipped", "sms")]["recipient"] == PHONE
    resent = await client.post(f"/v1/notifications/{sms_row['id']}/resend")
    assert resent.status_code == 202 and resent.json()["medium"] == "sms"
    await job.send_due()
    again = [t for t in texts(sink.sms_dir) if order.order_number in t["text"]]
    assert [t["notification_id"] for t in again] == [str(sms_row["id"])] * 2


async def test_an_opted_out_customer_gets_neither_the_e_mail_nor_the_sms(
    container: ServiceContainer, producer: AIOKafkaProducer, sink: Sink, client: httpx.AsyncClient
) -> None:
    order_id = uuid.uuid4()
    r = await client.put(f"/v1/notification-preferences/{order_id}", json={"opted_out": True})
    assert r.status_code == 200, r.text
    order = with_phone(order_id, "quiet@example.com")
    await send(producer, order, str(uuid.uuid4()), prefix=OWN_PREFIX)
    await send(producer, shipped(order), str(uuid.uuid4()), prefix=OWN_PREFIX)
    rows = await eventually(
        lambda: ledger(container, order_id),
        until=lambda rows: media(rows) == {("shipped", "email"), ("shipped", "sms")},
        timeout=30,
        what="the shipment's e-mail and SMS recorded",
    )
    assert {r["status"] for r in rows} == {"suppressed"}
    await sender(container, sink, NOW_RETRY).send_due()
    assert not [t for t in texts(sink.sms_dir) if order.order_number in t["text"]]
    assert not sink.mailbox.matching(lambda m: order.order_number in m.subject)
