"""Outbox, inbox and idempotency-key tables, attached to each service's own metadata.

Each service owns its database, so each gets its own copy of these tables (same shape).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

OUTBOX_CHANNEL = "oms_outbox"


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        # Relay order. Never used as a high-water mark: values are taken at insert, not commit.
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("schema_version", Integer, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index(
            "ix_outbox_unpublished",
            "seq",
            postgresql_where=text("published_at IS NULL"),
        ),
    )


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
        # For the retention job (libs.outbox.retention), which deletes the rows past
        # INBOX_RETENTION_S a batch at a time without reading the young ones.
        Index("ix_inbox_received_at", "received_at"),
    )


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_key",
        metadata,
        Column("scope", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("fingerprint", Text, nullable=False),
        Column("resource_id", Text, nullable=True),
        Column("response_status", Integer, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("scope", "key"),
        Index("ix_idempotency_key_created_at", "created_at"),
    )


# Wakes the relay the moment an outbox row commits (NOTIFY is delivered at commit).
# Migrations run these after creating the outbox table.
NOTIFY_TRIGGER_DDL = (
    f"""
    CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()
    """,
)
NOTIFY_TRIGGER_DROP = (
    "DROP TRIGGER IF EXISTS outbox_notify ON outbox",
    "DROP FUNCTION IF EXISTS outbox_notify()",
)


def audit_table(metadata: MetaData) -> Table:
    """Who changed what: one row per event a change raised, written in its transaction."""
    return Table(
        "audit_log",
        metadata,
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("at", DateTime(timezone=True), nullable=False),
        # The token's client id, or "system" for work the service did on its own.
        Column("actor", Text, nullable=False),
        # The HTTP operation ("POST /v1/orders"), or none for consumed events and jobs.
        Column("operation", Text, nullable=True),
        Column("event_id", Uuid, nullable=False),
        Column("event_type", Text, nullable=False),
        # "order:<id>", "fulfillment:<id>", "sku:<sku>", ...: every resource the event names.
        Column("resources", ARRAY(Text), nullable=False),
        Column("correlation_id", Text, nullable=True),
        Column("causation_id", Text, nullable=True),
        Index("ix_audit_log_resources", "resources", postgresql_using="gin"),
    )
