"""Production settings reach the clients: the brokers' SASL and TLS on every aiokafka client a
service builds (producer, consumer, admin), and the database pool's limits, timeouts and TLS.
No broker and no database: the clients are built, never started."""

from __future__ import annotations

import datetime
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import create_async_engine

from libs.db import engine as engines
from libs.db.engine import make_engine
from libs.messaging.admin import AdminSettings, TopicLayout
from libs.messaging.kafka import make_admin, make_consumer, make_producer
from services.inventory.config import InventorySettings

pytestmark = pytest.mark.unit

NOWHERE = "127.0.0.1:1"
PRODUCTION_DB = "postgresql+asyncpg://oms_inventory:s3cret@db.example.com:5432/oms_inventory"


@pytest.fixture
def client_pem(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate (it stands for the cluster CA too) and its key, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oms-inventory")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "user.crt", tmp_path / "user.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No KAFKA_ or DATABASE_ variable of the test environment leaks into these settings."""
    for name in list(os.environ):
        if name.startswith(("INVENTORY_KAFKA_", "INVENTORY_DATABASE_", "OMS_KAFKA_")):
            monkeypatch.delenv(name)
    yield monkeypatch


def _clients(settings: InventorySettings) -> list[tuple[str, AIOKafkaClient, Any]]:
    security = settings.kafka_security()
    producer = make_producer(bootstrap_servers=NOWHERE, client_id="t", security=security)
    consumer = make_consumer(
        bootstrap_servers=NOWHERE, group_id="g", client_id="t", security=security
    )
    admin = make_admin(bootstrap_servers=NOWHERE, client_id="t", security=security)
    return [
        ("producer", producer.client, producer),
        ("consumer", consumer._client, consumer),
        ("admin", admin._client, admin),
    ]


async def _close(clients: list[tuple[str, AIOKafkaClient, Any]]) -> None:
    for kind, _, owner in clients:
        await (owner.close() if kind == "admin" else owner.stop())


async def test_sasl_scram_over_tls_reaches_every_client(
    clean_env: pytest.MonkeyPatch, client_pem: tuple[Path, Path]
) -> None:
    cert_file, _ = client_pem
    for name, value in {
        "SECURITY_PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "SCRAM-SHA-512",
        "SASL_USERNAME": "oms-inventory",
        "SASL_PASSWORD": "from-the-kafkauser-secret",
        "SSL_CA_FILE": str(cert_file),
    }.items():
        clean_env.setenv(f"INVENTORY_KAFKA_{name}", value)

    clients = _clients(InventorySettings())
    try:
        for kind, client, _ in clients:
            assert client._security_protocol == "SASL_SSL", kind
            assert client._sasl_mechanism == "SCRAM-SHA-512", kind
            assert client._sasl_plain_username == "oms-inventory", kind
            assert client._sasl_plain_password == "from-the-kafkauser-secret", kind
            context = client._ssl_context
            assert isinstance(context, ssl.SSLContext), kind
            assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname, kind
            # The CA file's certificate is what the context trusts.
            assert [c["subject"] for c in context.get_ca_certs()] == [
                ((("commonName", "oms-inventory"),),)
            ], kind
    finally:
        await _close(clients)


async def test_mutual_tls_without_sasl_and_the_topics_tool_reads_the_same_variables(
    clean_env: pytest.MonkeyPatch, client_pem: tuple[Path, Path]
) -> None:
    cert_file, key_file = client_pem
    variables = {
        "SECURITY_PROTOCOL": "SSL",
        "SSL_CA_FILE": str(cert_file),
        "SSL_CERT_FILE": str(cert_file),
        "SSL_KEY_FILE": str(key_file),
        "SSL_CHECK_HOSTNAME": "false",
    }
    for name, value in variables.items():
        clean_env.setenv(f"INVENTORY_KAFKA_{name}", value)
        clean_env.setenv(f"OMS_KAFKA_{name}", value)

    service = InventorySettings().kafka_security()
    assert AdminSettings().kafka_security() == service
    kwargs = service.client_kwargs()
    assert kwargs["security_protocol"] == "SSL"
    assert "sasl_mechanism" not in kwargs
    context = kwargs["ssl_context"]
    # A port-forward's address is not on the broker's certificate; the chain is still checked.
    assert context.check_hostname is False and context.verify_mode == ssl.CERT_REQUIRED


def test_plaintext_is_the_default_and_sends_no_credentials(
    clean_env: pytest.MonkeyPatch,
) -> None:
    assert InventorySettings().kafka_security().client_kwargs() == {
        "security_protocol": "PLAINTEXT"
    }


@pytest.mark.parametrize(
    ("variables", "complaint"),
    [
        ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_USERNAME": "u"}, "KAFKA_SASL_PASSWORD"),
        ({"SECURITY_PROTOCOL": "SSL", "SSL_CERT_FILE": "/c.pem"}, "go together"),
        ({"SSL_CA_FILE": "/ca.pem"}, "KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
        ({"SASL_MECHANISM": "GSSAPI"}, "SASL_MECHANISM"),
    ],
)
def test_a_half_configured_security_setting_stops_the_start(
    clean_env: pytest.MonkeyPatch, variables: dict[str, str], complaint: str
) -> None:
    for name, value in variables.items():
        clean_env.setenv(f"INVENTORY_KAFKA_{name}", value)

    with pytest.raises(ValidationError, match=complaint):
        InventorySettings()


def test_the_topics_tool_defaults_to_a_production_cluster(clean_env: pytest.MonkeyPatch) -> None:
    layout = AdminSettings().layout()
    assert (layout.replication_factor, layout.min_insync_replicas) == (3, 2)
    order_events = layout.new_topic("oms.order.events", "oms.order.events")
    assert (order_events.num_partitions, order_events.replication_factor) == (6, 3)
    assert order_events.topic_configs == {
        "min.insync.replicas": "2",
        "retention.ms": str(7 * 24 * 3600 * 1000),
    }
    dead = layout.new_topic("oms.order.events.dlq", "oms.order.events.dlq")
    assert dead.num_partitions == 1
    assert dead.topic_configs["retention.ms"] == str(30 * 24 * 3600 * 1000)

    clean_env.setenv("OMS_KAFKA_PARTITIONS", "12")
    clean_env.setenv("OMS_KAFKA_RETENTION_MS", "3600000")
    wider = AdminSettings().layout()
    assert wider == TopicLayout(partitions=12, retention_ms=3_600_000)
    assert wider.new_topic("t", "oms.order.events").num_partitions == 12


async def test_the_database_pool_and_connections_follow_the_settings(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("INVENTORY_ENV", "production")
    clean_env.setenv("INVENTORY_DATABASE_URL", PRODUCTION_DB)
    clean_env.setenv("INVENTORY_DATABASE_POOL_SIZE", "4")
    clean_env.setenv("INVENTORY_DATABASE_POOL_TIMEOUT_S", "2.5")
    clean_env.setenv("INVENTORY_DATABASE_STATEMENT_TIMEOUT_MS", "15000")
    clean_env.setenv("INVENTORY_DATABASE_CONNECT_TIMEOUT_S", "3")
    settings = InventorySettings()
    made: dict[str, Any] = {}

    def recording(url: str, **kwargs: Any) -> Any:
        made.update(kwargs)
        return create_async_engine(url, **kwargs)

    clean_env.setattr(engines, "create_async_engine", recording)
    engine = make_engine(settings.DATABASE_URL, options=settings.database_pool())
    try:
        pool: Any = engine.sync_engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (4, 4, 2.5)
    finally:
        await engine.dispose()
    assert made["connect_args"] == {
        "timeout": 3.0,
        # In production a remote database is reached over TLS unless the settings say otherwise.
        "ssl": "require",
        "server_settings": {
            "application_name": "oms",
            "jit": "off",
            "statement_timeout": "15000",
        },
    }

    clean_env.setenv("INVENTORY_DATABASE_SSLMODE", "verify-full")
    clean_env.setenv("INVENTORY_DATABASE_MAX_OVERFLOW", "0")
    stricter = InventorySettings().database_pool()
    assert stricter.connection.ssl(PRODUCTION_DB) == "verify-full"
    assert stricter.max_overflow == 0


def test_development_keeps_loopback_in_clear_and_a_remote_database_on_its_url(
    clean_env: pytest.MonkeyPatch,
) -> None:
    connection = InventorySettings().database_pool().connection
    assert connection.ssl("postgresql+asyncpg://u:u@127.0.0.1:5432/d") is False
    assert connection.ssl("postgresql+asyncpg://u:u@db.example.com/d") is None  # asyncpg: prefer
    assert connection.ssl("postgresql+asyncpg://u:u@db.example.com/d?ssl=require") is None
