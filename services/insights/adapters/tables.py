from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import audit_table, idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
    audit=audit_table(metadata),
)

# Every record of the run's dead-letter topics (services/insights/adapters/dead_letter_topics.py),
# to be listed, read and re-driven. `value` is the record byte for byte (what a re-drive sends
# back); `value_json` the same parsed, when it is JSON, for people and queries.
dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("topic", Text, nullable=False),  # the logical topic the record had failed on
    Column("partition", Integer),  # where it was there; null without the dlq-* headers
    Column("offset", BigInteger),
    Column("dlq_partition", Integer, nullable=False),
    Column("dlq_offset", BigInteger, nullable=False),
    Column("consumer", Text),
    Column("error", Text),
    Column("key", LargeBinary),
    Column("value", LargeBinary),
    Column("value_json", JSONB(none_as_null=True)),
    # The original record's headers (the dlq-* ones left out): [[name, base64 of the value]].
    Column("headers", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("event_id", Text),
    Column("event_type", Text),
    Column("dead_lettered_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("redriven_at", DateTime(timezone=True)),
    Column("redrive_count", Integer, nullable=False, server_default=text("0")),
    Column("collected_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("status IN ('pending', 'redriven')", name="status_known"),
    # A record of a dead-letter topic is stored once however often it is read again: its
    # place on that topic is its identity. With its time: a topic deleted and made again
    # (make kafka-reset) starts its offsets at 0 again, and those are other records.
    UniqueConstraint("topic", "dlq_partition", "dlq_offset", "dead_lettered_at"),
    # The list's order, newest first (libs.db.pagination reads the index backwards).
    Index("ix_dead_letter_dead_lettered_at_id", "dead_lettered_at", "id"),
)
