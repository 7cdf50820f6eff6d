"""aiokafka clients with the settings this system depends on, and the brokers' security.

aiokafka's defaults are unsafe for an outbox relay and an inbox consumer (acks=1, no idempotence,
auto-commit on, offset reset "latest"), so every client is built here and nowhere else.
"""

from __future__ import annotations

from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.helpers import create_ssl_context
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings

PRODUCER_SAFETY: dict[str, Any] = {"acks": "all", "enable_idempotence": True}
# aiokafka waits retry_backoff_ms (100 by default) between attempts to reach a broker that is
# down, and logs each failed one: half a second keeps a broker outage from flooding the log
# (libs.observability.logging.RepeatFilter keeps what still comes to one line per interval)
# while a broker that is back is found again within a second.
RECONNECT_BACKOFF_MS = 500

CONSUMER_SAFETY: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    "isolation_level": "read_committed",
}


SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
# SCRAM is what managed Kafka and Strimzi's KafkaUser (authentication: scram-sha-512) offer;
# PLAIN sends the password itself, so only over TLS (SASL_SSL) is it any protection.
SaslMechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]
TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


class KafkaSecurity(BaseModel):
    """How a client proves itself to the brokers and checks them: the same for every client
    one process builds (producer, consumer, admin), from the settings' KAFKA_SECURITY_* and
    KAFKA_SASL_* / KAFKA_SSL_* variables (KafkaClientSettings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str = ""
    password: SecretStr = SecretStr("")
    # PEM files; no CA file trusts the system's CAs (a managed Kafka's public certificate).
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    key_password: SecretStr = SecretStr("")
    check_hostname: bool = True

    @model_validator(mode="after")
    def _complete(self) -> KafkaSecurity:
        # A half-configured setting must stop the start, not fall back to talking in clear.
        if self.protocol in SASL_PROTOCOLS and not (
            self.username and self.password.get_secret_value()
        ):
            raise ValueError(f"{self.protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together")
        tls_files = self.ca_file or self.cert_file
        if tls_files and self.protocol not in TLS_PROTOCOLS:
            raise ValueError(f"TLS files are set but KAFKA_SECURITY_PROTOCOL is {self.protocol}")
        return self

    def client_kwargs(self) -> dict[str, Any]:
        """The keyword arguments aiokafka's producer, consumer and admin client all take."""
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol in TLS_PROTOCOLS:
            context = create_ssl_context(
                cafile=self.ca_file or None,
                certfile=self.cert_file or None,
                keyfile=self.key_file or None,
                password=self.key_password.get_secret_value() or None,
            )
            # Off only for a broker reached by an address its certificate does not name (a
            # port-forward); the chain is still verified.
            context.check_hostname = self.check_hostname
            kwargs["ssl_context"] = context
        if self.protocol in SASL_PROTOCOLS:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            # aiokafka takes SCRAM's credentials under the PLAIN names as well.
            kwargs["sasl_plain_username"] = self.username
            kwargs["sasl_plain_password"] = self.password.get_secret_value()
        return kwargs


PLAINTEXT = KafkaSecurity()


class KafkaClientSettings(BaseSettings):
    """The brokers' address and security, as the variables a settings class reads with its
    own prefix: <SVC>_KAFKA_* for a service (libs.config.ServiceSettings), OMS_KAFKA_* for the
    topics tool (libs.messaging.admin). Secrets (the password, the key's password) come from
    the environment, e.g. a Kubernetes Secret."""

    KAFKA_BOOTSTRAP_SERVERS: str = "127.0.0.1:9092"
    KAFKA_SECURITY_PROTOCOL: SecurityProtocol = "PLAINTEXT"
    KAFKA_SASL_MECHANISM: SaslMechanism = "SCRAM-SHA-512"
    KAFKA_SASL_USERNAME: str = ""
    KAFKA_SASL_PASSWORD: SecretStr = SecretStr("")
    KAFKA_SSL_CA_FILE: str = ""
    KAFKA_SSL_CERT_FILE: str = ""
    KAFKA_SSL_KEY_FILE: str = ""
    KAFKA_SSL_KEY_PASSWORD: SecretStr = SecretStr("")
    KAFKA_SSL_CHECK_HOSTNAME: bool = True

    @model_validator(mode="after")
    def _security_is_complete(self) -> KafkaClientSettings:
        # Checked when the settings are read, so a half-configured setting stops the start.
        try:
            self.kafka_security()
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"]) from None
        return self

    def kafka_security(self) -> KafkaSecurity:
        return KafkaSecurity(
            protocol=self.KAFKA_SECURITY_PROTOCOL,
            sasl_mechanism=self.KAFKA_SASL_MECHANISM,
            username=self.KAFKA_SASL_USERNAME,
            password=self.KAFKA_SASL_PASSWORD,
            ca_file=self.KAFKA_SSL_CA_FILE,
            cert_file=self.KAFKA_SSL_CERT_FILE,
            key_file=self.KAFKA_SSL_KEY_FILE,
            key_password=self.KAFKA_SSL_KEY_PASSWORD,
            check_hostname=self.KAFKA_SSL_CHECK_HOSTNAME,
        )


def make_producer(
    *, bootstrap_servers: str, client_id: str, security: KafkaSecurity = PLAINTEXT
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        linger_ms=5,
        request_timeout_ms=15000,
        retry_backoff_ms=RECONNECT_BACKOFF_MS,
        **PRODUCER_SAFETY,
        **security.client_kwargs(),
    )


# A fetch the broker holds for a batching window (see make_consumer) returns early only once
# this much has gathered: more than a consumer's batch of events, so that the window, not the
# size, closes a batch of a moderate flow; a backlog returns at once all the same.
BATCH_FETCH_MIN_BYTES = 1024 * 1024
# Without a batching window: the broker answers as soon as anything is there (a long poll).
LONG_POLL_MAX_WAIT_MS = 500


def make_consumer(
    *,
    bootstrap_servers: str,
    group_id: str,
    client_id: str,
    group_instance_id: str | None = None,
    batch_window_s: float = 0.0,
    security: KafkaSecurity = PLAINTEXT,
) -> AIOKafkaConsumer:
    """A static member (group_instance_id) that restarts within the session timeout gets its
    partitions straight back, without a rebalance of the whole group.

    With a batching window, the broker holds each fetch until the window has passed (or a
    backlog is there), so that a moderate flow arrives in batches, one transaction each. The
    client fetches in the background while the last batch is being handled, so the window
    runs beside the handling instead of after it."""
    window_ms = round(batch_window_s * 1000)
    fetch: dict[str, int] = (
        {"fetch_max_wait_ms": window_ms, "fetch_min_bytes": BATCH_FETCH_MIN_BYTES}
        if window_ms > 0
        else {"fetch_max_wait_ms": LONG_POLL_MAX_WAIT_MS, "fetch_min_bytes": 1}
    )
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        group_instance_id=group_instance_id or None,
        max_poll_records=500,
        session_timeout_ms=10000,
        heartbeat_interval_ms=2000,
        retry_backoff_ms=RECONNECT_BACKOFF_MS,
        **fetch,
        **CONSUMER_SAFETY,
        **security.client_kwargs(),
    )


def make_admin(
    *, bootstrap_servers: str, client_id: str, security: KafkaSecurity = PLAINTEXT
) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id=client_id, **security.client_kwargs()
    )
