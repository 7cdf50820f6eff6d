import pytest

from libs.clock import SystemClock
from libs.contracts.order import OrderStatusChanged
from libs.db.metadata import make_metadata
from libs.http.pagination import InvalidCursor, decode_cursor, encode_cursor
from libs.messaging.envelope import Envelope, dataschema_of, parse_dataschema
from libs.messaging.kafka import make_consumer, make_producer
from libs.messaging.topics import TopicNamer, all_topic_names, partitions_of
from libs.observability.correlation import correlation_scope
from libs.outbox.tables import outbox_table
from libs.outbox.writer import OutboxWriter


class TestEnvelope:
    def test_an_event_travels_as_a_complete_cloudevent(self) -> None:
        writer = OutboxWriter(
            table=outbox_table(make_metadata()), service="order-capture", clock=SystemClock()
        )
        event = OrderStatusChanged(
            order_id="o-1",
            order_number="OMS-1",
            sequence=2,
            previous_status="pending",
            status="confirmed",
            reason="stock reserved",
            changed_at=SystemClock().now(),
        )
        with correlation_scope("corr-1", "cause-1"):
            env = writer.envelope(event)
        decoded = Envelope.from_bytes(env.to_bytes())
        assert decoded == env
        assert (decoded.specversion, decoded.type, decoded.subject) == (
            "1.0",
            "oms.order.status_changed",
            "o-1",
        )
        assert (decoded.correlationid, decoded.causationid, decoded.partitionkey) == (
            "corr-1",
            "cause-1",
            "o-1",
        )
        assert decoded.source == "/oms/order-capture"
        assert (
            decoded.dataschema
            == "urn:oms:event-schema:oms.order.events:oms.order.status_changed:v1"
        )


class TestCursor:
    def test_round_trips(self) -> None:
        assert decode_cursor(encode_cursor(["2026-11-22T10:15:00+00:00", "x"]), arity=2) == [
            "2026-11-22T10:15:00+00:00",
            "x",
        ]

    @pytest.mark.parametrize("bad", ["!!!", "bm90LWpzb24", encode_cursor(["only-one"])])
    def test_rejects_what_it_did_not_issue(self, bad: str) -> None:
        with pytest.raises(InvalidCursor):
            decode_cursor(bad, arity=2)


class TestKafkaClientSafety:
    """aiokafka's defaults lose or duplicate messages; assert the clients we build are safe."""

    async def test_producer_is_idempotent_with_acks_all(self) -> None:
        producer = make_producer(bootstrap_servers="127.0.0.1:1", client_id="t")
        try:
            assert (
                producer._txn_manager is not None
            )  # idempotence on: sequence numbers per partition
            assert producer._sender._acks == -1  # acks="all"
        finally:
            await producer.stop()

    async def test_a_batching_window_is_the_time_the_broker_holds_a_fetch(self) -> None:
        windowed = make_consumer(
            bootstrap_servers="127.0.0.1:1", group_id="g", client_id="t", batch_window_s=0.1
        )
        plain = make_consumer(bootstrap_servers="127.0.0.1:1", group_id="g", client_id="t")
        try:
            # Held for the window unless more than a batch is there; without one, answered
            # as soon as anything is (a long poll).
            assert (windowed._fetch_max_wait_ms, windowed._fetch_min_bytes) == (100, 1024 * 1024)
            assert (plain._fetch_max_wait_ms, plain._fetch_min_bytes) == (500, 1)
        finally:
            await windowed.stop()
            await plain.stop()

    async def test_consumer_commits_by_hand_from_earliest(self) -> None:
        consumer = make_consumer(bootstrap_servers="127.0.0.1:1", group_id="g", client_id="t")
        try:
            assert consumer._enable_auto_commit is False
            assert consumer._auto_offset_reset == "earliest"
        finally:
            await consumer.stop()


class TestTopics:
    def test_order_keyed_topics_have_at_least_three_partitions_and_a_dlq(self) -> None:
        names = all_topic_names()
        for topic in ("oms.order.events", "oms.inventory.events", "oms.inventory.commands"):
            assert partitions_of(topic) >= 3
            assert topic + ".dlq" in names

    def test_prefix_maps_both_ways(self) -> None:
        namer = TopicNamer("test1.")
        assert namer.logical(namer.physical("oms.order.events")) == "oms.order.events"


class TestSettings:
    def test_production_refuses_the_development_database_credentials(self) -> None:
        from pydantic import ValidationError

        from services.inventory.config import InventorySettings

        with pytest.raises(ValidationError, match="the development one"):
            InventorySettings(
                ENV="production",
                DATABASE_URL=InventorySettings.model_fields["DATABASE_URL"].default,
            )
        real = "postgresql+asyncpg://inv:s3cret@db:5432/inventory"
        assert real == InventorySettings(ENV="production", DATABASE_URL=real).DATABASE_URL


def test_only_connections_that_stay_on_the_machine_skip_tls_negotiation() -> None:
    from libs.db.engine import loopback_without_ssl_choice as stays_local

    assert stays_local("postgresql+asyncpg://u:p@127.0.0.1:5432/db")
    assert stays_local("postgresql+asyncpg://u:p@/db?host=/var/run/postgresql")
    assert not stays_local("postgresql+asyncpg://u:p@db:5432/db")
    assert not stays_local("postgresql+asyncpg://u:p@/db?host=db.internal")
    assert not stays_local("postgresql+asyncpg://u:p@/db?host=/var/run/postgresql&ssl=require")
    assert not stays_local("postgresql+asyncpg://u:p@127.0.0.1/db?sslmode=require")


def test_a_dataschema_urn_reads_back_as_what_made_it() -> None:
    urn = dataschema_of("oms.order.events", "oms.order.placed", 2)
    assert parse_dataschema(urn) == ("oms.order.events", "oms.order.placed", 2)
    for other in ("urn:test", "", "urn:oms:event-schema:t:e:vx", "x" + urn):
        assert parse_dataschema(other) is None
