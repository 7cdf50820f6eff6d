"""Events produced to the real Kafka topics become pending deliveries for the endpoints they
match, and for no other, through notifications' own consumer and inbox."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from libs.bus.message_bus import Delivery
from libs.contracts.base import IntegrationEvent
from libs.contracts.orchestration import OrderRouted
from libs.contracts.order import EventPayment, OrderPlaced, PlacedOrderLine
from libs.messaging.admin import ONE_BROKER, delete_topics_with_prefix, ensure_topics
from libs.messaging.envelope import TYPE_HEADER, Envelope
from libs.messaging.kafka import make_producer
from libs.messaging.topics import ORCHESTRATION_EVENTS, ORDER_EVENTS
from libs.outbox.inbox import InboxEntry
from libs.registry import service
from libs.runtime import ServiceContainer
from services.notifications.adapters.tables import parked_event, webhook_delivery
from services.notifications.messaging.subscriptions import SUBSCRIPTIONS
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.events import envelope_of
from tests.support.kafka import consumed_to_end
from tests.support.polling import eventually

V1 = "/v1/webhook-endpoints"
GROUP = service("notifications").consumer_group


@contextlib.asynccontextmanager
async def consumer_fed(
    container: ServiceContainer, client_id: str
) -> AsyncIterator[AIOKafkaProducer]:
    """notifications' consumer running on the real broker, and a producer to feed it."""
    assert container.consumer is not None
    task = asyncio.create_task(container.consumer.run())
    producer = make_producer(bootstrap_servers=BOOTSTRAP_SERVERS, client_id=client_id)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def topics_of_its_own(prefix: str) -> AsyncIterator[str]:
    """The system's topics under `prefix`, for a module whose forged events must stay off the
    run's topics (the end-to-end stack's services would read and dead-letter them)."""
    await ensure_topics(bootstrap_servers=BOOTSTRAP_SERVERS, prefix=prefix, layout=ONE_BROKER)
    try:
        yield prefix
    finally:
        await delete_topics_with_prefix(bootstrap_servers=BOOTSTRAP_SERVERS, prefix=prefix)


@pytest.fixture
async def consuming(
    container: ServiceContainer, kafka_topics: str
) -> AsyncIterator[AIOKafkaProducer]:
    async with consumer_fed(container, "notif-test") as producer:
        yield producer


async def send(
    producer: AIOKafkaProducer,
    event: IntegrationEvent,
    event_id: str,
    *,
    prefix: str = TOPIC_PREFIX,
) -> None:
    envelope = envelope_of(event, at=datetime.now(UTC), event_id=event_id)
    await producer.send_and_wait(
        prefix + event.topic,
        envelope.to_bytes(),
        key=event.partition_key.encode(),
        headers=[(TYPE_HEADER, event.event_type.encode())],
    )


def placed(order_id: UUID, channel: str) -> OrderPlaced:
    return OrderPlaced(
        order_id=str(order_id),
        order_number=f"OMS-{uuid.uuid4().hex[:8]}",
        channel=channel,
        channel_order_ref=uuid.uuid4().hex,
        currency="EUR",
        customer_email="ada@example.com",
        lines=[PlacedOrderLine(line_id=str(uuid.uuid4()), sku="SKU-1", quantity=1, unit_price=10)],
        total_amount=Decimal("10.00"),
        placed_at=datetime.now(UTC),
        payment=EventPayment(method="card", amount=Decimal("10.00")),
    )


def routed(order_id: UUID) -> OrderRouted:
    return OrderRouted(
        order_id=str(order_id),
        decision_id=str(uuid.uuid4()),
        reservation_id=str(uuid.uuid4()),
        parts=[],
        routed_at=datetime.now(UTC),
    )


async def endpoint(client: httpx.AsyncClient, **fields: Any) -> str:
    r = await client.post(V1, json={"url": "https://hooks.example.com/oms", **fields})
    assert r.status_code == 201, r.text
    endpoint_id: str = r.json()["id"]
    return endpoint_id


async def deliveries_of(container: ServiceContainer, webhook_ids: list[str]) -> list[Any]:
    async with container.session_factory() as session:
        rows = await session.execute(
            select(webhook_delivery).where(webhook_delivery.c.webhook_id.in_(webhook_ids))
        )
        return list(rows)


async def test_an_event_on_kafka_becomes_a_delivery_for_the_matching_endpoint_only(
    client: httpx.AsyncClient, container: ServiceContainer, consuming: AIOKafkaProducer
) -> None:
    web = await endpoint(client, event_types=["oms.order.placed"], channels=["web"])
    app = await endpoint(client, event_types=["oms.order.placed"], channels=["app"])
    returns = await endpoint(client, event_types=["oms.returns.*"])
    orchestration = await endpoint(client, event_types=["oms.orchestration.*"])
    order_id = uuid.uuid4()
    placed_id, routed_id = str(uuid.uuid4()), str(uuid.uuid4())

    await send(consuming, placed(order_id, "web"), placed_id)
    await send(consuming, placed(order_id, "web"), placed_id)  # redelivered: one delivery
    await send(consuming, routed(order_id), routed_id)

    rows = await eventually(
        lambda: deliveries_of(container, [placed_id, routed_id]),
        until=lambda rows: len(rows) >= 2,
        timeout=30,
        what="the deliveries of the events sent",
    )
    await consumed_to_end({GROUP: [ORDER_EVENTS, ORCHESTRATION_EVENTS]})
    rows = await deliveries_of(container, [placed_id, routed_id])
    by_endpoint = {(str(r.endpoint_id), r.webhook_id): r for r in rows}
    assert set(by_endpoint) == {(web, placed_id), (orchestration, routed_id)}
    assert not {app, returns} & {str(r.endpoint_id) for r in rows}
    delivery = by_endpoint[(web, placed_id)]
    assert delivery.status == "pending"
    assert delivery.event_type == "oms.order.placed"
    assert delivery.order_id == order_id and delivery.aggregate_key == str(order_id)
    assert delivery.payload["id"] == placed_id
    assert delivery.payload["type"] == "oms.order.placed"
    assert delivery.payload["data"]["payment"]["method"] == "card"


async def test_an_event_before_its_orders_placement_reaches_the_channels_endpoint_after_it(
    client: httpx.AsyncClient, container: ServiceContainer, consuming: AIOKafkaProducer
) -> None:
    web = await endpoint(client, event_types=["oms.orchestration.order_routed"], channels=["web"])
    app = await endpoint(client, event_types=["*"], channels=["app"])
    order_id = uuid.uuid4()
    placed_id, routed_id = str(uuid.uuid4()), str(uuid.uuid4())

    await send(consuming, routed(order_id), routed_id)
    await consumed_to_end({GROUP: [ORCHESTRATION_EVENTS]})
    assert not [r for r in await deliveries_of(container, [routed_id]) if str(r.endpoint_id) == web]

    await send(consuming, placed(order_id, "web"), placed_id)

    rows = await eventually(
        lambda: deliveries_of(container, [routed_id]),
        until=lambda rows: any(str(r.endpoint_id) == web for r in rows),
        timeout=30,
        what="the parked event's delivery",
    )
    await consumed_to_end({GROUP: [ORDER_EVENTS, ORCHESTRATION_EVENTS]})
    mine = [
        (str(r.endpoint_id), r.webhook_id)
        for r in await deliveries_of(container, [placed_id, routed_id])
        if str(r.endpoint_id) in (web, app)
    ]
    assert mine == [(web, routed_id)]
    assert rows
    async with container.session_factory() as session:
        waiting = await session.scalar(
            select(func.count()).where(parked_event.c.order_id == order_id)
        )
    assert waiting == 0


def delivery_of(event: IntegrationEvent, event_id: str) -> Delivery:
    """The event as notifications' consumer hands it to the bus (its translator's command)."""
    envelope = Envelope.from_bytes(
        envelope_of(event, at=datetime.now(UTC), event_id=event_id).to_bytes()
    )
    command = SUBSCRIPTIONS[event.topic][event.event_type](envelope)
    return Delivery(
        command,
        InboxEntry("notifications", event_id, event.event_type, event.topic),
        event.partition_key,
        contextlib.nullcontext,
    )


async def test_one_batch_of_placements_and_events_reaches_the_same_endpoints_as_one_by_one(
    client: httpx.AsyncClient, container: ServiceContainer
) -> None:
    """A consumer's batch reads its orders' channels and parked events once for all of them
    (the unit of work's `prepare`): the event of an order parked in an earlier batch, one
    parked and placed in this batch, one of an order placed before this batch, and one of an
    order placed in this batch just before it must each reach the channel's endpoint, as when
    their records are handled one by one."""
    web = await endpoint(client, event_types=["oms.orchestration.order_routed"], channels=["web"])
    parked_before, parked_here, placed_before, plain = (uuid.uuid4() for _ in range(4))
    ids = {order: str(uuid.uuid4()) for order in (parked_before, parked_here, placed_before, plain)}
    await container.bus.handle_batch(
        [
            delivery_of(routed(parked_before), ids[parked_before]),
            delivery_of(placed(placed_before, "web"), str(uuid.uuid4())),
        ]
    )
    # Parked: its channel is not known yet (an endpoint without a channel filter, another
    # test's, has it already).
    early = await deliveries_of(container, [ids[parked_before]])
    assert [r for r in early if str(r.endpoint_id) == web] == []

    await container.bus.handle_batch(
        [
            delivery_of(placed(parked_before, "web"), str(uuid.uuid4())),
            delivery_of(routed(parked_here), ids[parked_here]),
            delivery_of(placed(parked_here, "web"), str(uuid.uuid4())),
            delivery_of(routed(placed_before), ids[placed_before]),
            delivery_of(placed(plain, "web"), str(uuid.uuid4())),
            delivery_of(routed(plain), ids[plain]),  # its channel learnt in this batch
        ]
    )

    found = await deliveries_of(container, list(ids.values()))
    reached = {r.webhook_id for r in found if str(r.endpoint_id) == web}
    assert reached == set(ids.values())
    async with container.session_factory() as session:
        waiting = await session.scalar(
            select(func.count()).where(parked_event.c.order_id.in_(list(ids)))
        )
    assert waiting == 0
