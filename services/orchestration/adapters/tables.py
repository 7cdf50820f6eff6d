"""Orchestration's tables. Sagas and fulfilment orders keep their working detail as JSONB
(read and written whole by their aggregate) and copy out the columns that queries filter on."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    Time,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import audit_table, idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

order_saga = Table(
    "order_saga",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("order_number", Text, nullable=False),
    # The order's sales channel (from oms.order.placed): what a narrowed caller may see.
    Column("channel", Text, nullable=False, server_default=""),
    Column("state", Text, nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # When the worker should act on it (routing, with retries), and when its wait is overdue.
    Column("due_at", DateTime(timezone=True), nullable=True),
    Column("deadline_at", DateTime(timezone=True), nullable=True),
    # When its first promised dispatch is late, if nothing leaves before (order_delayed).
    Column("dispatch_due_at", DateTime(timezone=True), nullable=True),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_order_saga_channel_started_at", "channel", "started_at"),
    Index("ix_order_saga_due_at", "due_at", postgresql_where=text("due_at IS NOT NULL")),
    Index(
        "ix_order_saga_waiting",
        "due_at",
        postgresql_where=text("state = 'waiting_for_stock'"),
    ),
    Index(
        "ix_order_saga_dispatch_due_at",
        "dispatch_due_at",
        postgresql_where=text("dispatch_due_at IS NOT NULL"),
    ),
    Index(
        "ix_order_saga_deadline_at",
        "deadline_at",
        postgresql_where=text("deadline_at IS NOT NULL"),
    ),
)

saga_step = Table(
    "saga_step",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "order_id",
        Uuid,
        ForeignKey("order_saga.order_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", Text, nullable=False),
)

fulfillment_order = Table(
    "fulfillment_order",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "order_id",
        Uuid,
        ForeignKey("order_saga.order_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("location_code", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    CheckConstraint("method IN ('ship', 'pickup')", name="method_known"),
    Index("ix_fulfillment_order_location_status", "location_code", "status"),
    Index("ix_fulfillment_order_status", "status"),
    # Daily capacity: each routing counts a location's fulfilment orders since its midnight.
    Index("ix_fulfillment_order_location_created_at", "location_code", "created_at"),
)

routing_decision = Table(
    "routing_decision",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("round", Integer, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("strategy_version", Integer, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    # json, not jsonb, compressed with lz4 (migration 9c4e1a7b2d53): written once per
    # order and read whole, never queried inside; jsonb cost a parse and pglz per order.
    Column("body", JSON, nullable=False),
)


def _versioned_document(name: str) -> Table:
    """A configuration document kept in every version it had (libs.db.versioned): a
    decision names the version it used."""
    return Table(
        name,
        metadata,
        Column("version", Integer, primary_key=True),
        Column("body", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


routing_strategy = _versioned_document("routing_strategy")
review_rules = _versioned_document("review_rules")  # manual review (domain.review)
carrier_rates = _versioned_document("carrier_rates")  # domain.carriers.RateTable

# Who has ordered before (adapters.customer_history), for manual review's new-customer rule:
# one row a customer (domain.review.customer_key), counted once per saga started. The first
# order's id makes "is this the first?" the same answer however often the order comes.
customer_history = Table(
    "customer_history",
    metadata,
    Column("customer_key", Text, primary_key=True),
    Column("first_order_id", Uuid, nullable=False),
    Column("first_order_at", DateTime(timezone=True), nullable=False),
    Column("orders", Integer, nullable=False),
)

# Each order's payment token from order-capture (oms.payments.commands, adapters.payment_tokens):
# a secret of the payment provider, kept apart from the saga and never published. A null token:
# the channel gave none.
payment_token = Table(
    "payment_token",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("token", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

payment_operation = Table(
    "payment_operation",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("amount", Numeric(18, 4), nullable=False),
    Column("currency", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("data", JSONB, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("kind IN ('authorize', 'capture', 'void', 'refund')", name="kind_known"),
    Index(
        "ix_payment_operation_pending",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
)

# The built-in simulated payment provider's own books (a real provider keeps these on its
# side): one row per idempotency key, so a repeated call gets the first answer.
simulated_payment = Table(
    "simulated_payment",
    metadata,
    Column("idempotency_key", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("authorization", Text, nullable=True, index=True),
    Column("amount", Numeric(18, 4), nullable=False),
    Column("currency", Text, nullable=False),
    Column("approved", Boolean, nullable=False),
    Column("code", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # How often the key was asked, the first time included (a repeat gets the first answer).
    Column("requests", Integer, nullable=False, server_default="1"),
)

# Orchestration's view of inventory's locations and stock (adapters.routing_view), projected
# from inventory's events: what routing reads instead of asking inventory over HTTP.
routing_location = Table(
    "routing_location",
    metadata,
    Column("code", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("capabilities", ARRAY(Text), nullable=False),
    Column("country", Text, nullable=False),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("priority", Integer, nullable=False),
    Column("daily_capacity", Integer, nullable=True),
    Column("processing_days", Integer, nullable=False),
    Column("cutoff", Time, nullable=True),
    Column("timezone", Text, nullable=False),
    # inventory's location version: an older event never overwrites a newer one
    Column("version", Integer, nullable=False),
)

routing_stock = Table(
    "routing_stock",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("location_code", Text, primary_key=True),
    Column("available", Integer, nullable=False, server_default="0"),
    Column("incoming", Integer, nullable=False, server_default="0"),
    # When either figure last changed: waiting orders of the SKU look again after it.
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
    audit=audit_table(metadata),
)
