"""Poison messages are dead-lettered; a service without its database or broker waits, not dies."""

from __future__ import annotations

import json
import uuid

import httpx
from aiokafka import AIOKafkaProducer

from libs import registry
from libs.messaging.topics import ORDER_EVENTS
from tests.e2e.conftest import ServiceProcess, Stack
from tests.e2e.flows import place_order, random_sku, set_stock, wait_for_status
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX
from tests.support.kafka import FORGED, broken_placed_event, read_topic
from tests.support.metrics import scrape, value
from tests.support.orders import order_body
from tests.support.polling import eventually


class TestPoisonMessages:
    async def test_are_dead_lettered_and_consumers_go_on(
        self, stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
    ) -> None:
        marker = f"poison-{uuid.uuid4()}"
        # One undecodable record, one CloudEvent whose data breaks the contract.
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP_SERVERS)
        await producer.start()
        try:
            topic = TOPIC_PREFIX + "oms.order.events"
            forged = [FORGED]
            await producer.send_and_wait(
                topic, key=marker.encode(), value=f"not json {marker}".encode(), headers=forged
            )
            await producer.send_and_wait(
                topic,
                key=marker.encode(),
                value=broken_placed_event(marker),
                headers=forged,
            )
        finally:
            await producer.stop()

        sku = random_sku("AFTER")
        await set_stock(http, urls, location="WH-BER", sku=sku, on_hand=1)
        order = await place_order(http, urls, lines=[(sku, 1)])
        await wait_for_status(http, urls, order["id"], "confirmed", timeout=30)

        async def dead_letters() -> dict[str, set[str]]:
            by_consumer: dict[str, set[str]] = {}
            for record in await read_topic("oms.order.events.dlq"):
                if record.key == marker.encode():
                    headers = dict(record.headers)
                    by_consumer.setdefault(headers["dlq-consumer"].decode(), set()).add(
                        headers["dlq-error"].decode().split(":")[0]
                    )
            return by_consumer

        # Every consumer of order events (orchestration, returns, notifications, insights)
        # dead-letters both.
        consumers = {s.deploy_name for s in registry.SERVICES if ORDER_EVENTS in s.consumes}
        found = await eventually(
            dead_letters,
            until=lambda d: len(d) == len(consumers) and all(len(v) == 2 for v in d.values()),
            timeout=30,
            what="both poison records dead-lettered by each consumer",
        )
        assert set(found) == consumers
        # Each counts what it dead-lettered (earlier tests may have sent it some too).
        for consumer in found:
            samples = await scrape(urls[consumer])
            dead = value(samples, "oms_consumer_dead_lettered_total", topic="oms.order.events")
            assert dead is not None and dead >= 2, consumer


class TestStartWithoutDependencies:
    async def test_reports_not_ready_and_keeps_retrying(self, http: httpx.AsyncClient) -> None:
        service = ServiceProcess(
            "order_capture",
            env={
                "ORDER_CAPTURE_HTTP_PORT": "18101",
                "ORDER_CAPTURE_DATABASE_URL": "postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none",
                "ORDER_CAPTURE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:2",
            },
            log_name="order_capture-no-dependencies",
        )
        service.start()
        try:

            async def readiness() -> httpx.Response | None:
                try:
                    return await http.get(service.url + "/readyz")
                except httpx.TransportError:
                    return None

            ready = await eventually(
                readiness, until=lambda r: r is not None, what="HTTP up without dependencies"
            )
            assert ready is not None and ready.status_code == 503
            assert ready.json()["checks"] == {"database": False, "kafka": False}
            assert (await http.get(service.url + "/healthz")).status_code == 200

            r = await http.post(service.url + "/v1/orders", json=order_body())
            assert r.status_code == 503
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["code"] == "database_unavailable"
            assert "Traceback" not in r.text

            async def logged_outages() -> set[tuple[str, str]]:
                entries = [
                    json.loads(ln)
                    for ln in service.log_path.read_text().splitlines()
                    if ln.startswith("{")
                ]
                return {
                    (e["event"], e.get("dependency", ""))
                    for e in entries
                    if e.get("event") in ("outbox.relay.failed", "consumer.failed")
                }

            # The relay needs the database first, the consumer the broker first; each says which.
            await eventually(
                logged_outages,
                until=lambda s: (
                    {("outbox.relay.failed", "database"), ("consumer.failed", "kafka")} <= s
                ),
                what="both outages logged, naming the dependency",
            )
            assert service.process is not None and service.process.poll() is None, (
                "the service died"
            )
        finally:
            await service.stop()
