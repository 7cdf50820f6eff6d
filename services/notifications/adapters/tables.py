from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import audit_table, idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

webhook_endpoint = Table(
    "webhook_endpoint",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", Text, nullable=False),
    Column("event_types", ARRAY(Text), nullable=False),
    # NULL: every channel's events (and those of no channel); else only those channels'.
    Column("channels", ARRAY(Text), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("status", Text, nullable=False),
    # [{"value": "whsec_...", "created_at": ..., "expires_at": ... | null}], the current first.
    # Kept readable: every delivery is signed with them (HMAC needs the key itself).
    Column("secrets", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    # Since when every delivery to it failed (set when one runs out of retries, cleared by a
    # success): failing for longer than the setting disables the endpoint.
    Column("failing_since", DateTime(timezone=True), nullable=True),
    Index("ix_webhook_endpoint_created", "created_at", "id"),
)

# One event for one endpoint, waiting for (or past) the delivery worker.
webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    # The order deliveries were made in: the worker sends one order's in this order.
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("id", Uuid, nullable=False, unique=True),
    Column(
        "endpoint_id",
        Uuid,
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # The CloudEvent id, sent as webhook-id: receivers dedupe on it.
    Column("webhook_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    # The record key: the order id, or what else the event is about (a SKU).
    Column("aggregate_key", Text, nullable=False),
    Column("order_id", Uuid, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # A worker's claim: while it holds, no other process sends the delivery; a worker that
    # died leaves it to lapse, and the delivery is sent again (at least once).
    Column("leased_until", DateTime(timezone=True), nullable=True),
    # Retried until then (created_at + the retry window; NULL: rows from before the worker).
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("last_attempt_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("endpoint_id", "webhook_id"),
    Index("ix_webhook_delivery_endpoint", "endpoint_id", "seq"),
    # An order's deliveries, newest first (GET /v1/deliveries?order_id=).
    Index("ix_webhook_delivery_order", "order_id", "seq"),
    Index(
        "ix_webhook_delivery_pending",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "ix_webhook_delivery_order_queue",
        "endpoint_id",
        "aggregate_key",
        "seq",
        postgresql_where=text("status = 'pending'"),
    ),
)

# Every request made for a delivery, kept as long as the delivery (the ledger).
webhook_delivery_attempt = Table(
    "webhook_delivery_attempt",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "delivery_id",
        Uuid,
        ForeignKey("webhook_delivery.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("number", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, nullable=True),  # NULL: no answer (refused, timed out)
    Column("latency_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("response_excerpt", Text, nullable=True),
    Index("ix_webhook_delivery_attempt_delivery", "delivery_id", "number"),
)

# The channel of each order seen placed (only oms.order.placed says it).
order_channel = Table(
    "order_channel",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("channel", Text, nullable=False),
)

# Events of orders whose channel was not known yet, for the channel-filtered endpoints.
parked_event = Table(
    "parked_event",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("aggregate_key", Text, nullable=False),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
)

# --- customer notifications ---------------------------------------------------------------

# What the customer messages of an order need, kept from its placement (domain.notices).
customer_order = Table(
    "customer_order",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("order_number", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("phone", Text, nullable=True),
    Column("language", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("total", Numeric(18, 4), nullable=False),
    # [{"line_id", "sku", "name", "quantity", "amount"}]
    Column("lines", JSONB, nullable=False),
    # The address's lines, or NULL for a pickup order.
    Column("shipping_address", JSONB, nullable=True),
    Column("pickup_location", Text, nullable=True),
    Column("promised_date", Date, nullable=True),
    # {"fulfillment:<id>" | "return:<id>": {line id: quantity}}
    Column("parts", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("placed_at", DateTime(timezone=True), nullable=False),
)

# The notification ledger: one row per message an event caused, once per business fact and
# medium (the e-mail and the SMS of one shipment are a row each).
notification = Table(
    "notification",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("business_key", Text, nullable=False),
    Column("medium", Text, nullable=False),
    # The e-mail address (medium email) or the phone number (sms); known once the order's
    # placement has been consumed (filled in when it is sent).
    Column("recipient", Text, nullable=True),
    Column("language", Text, nullable=True),
    Column("channel", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("message_id", Text, nullable=True),
    # The event that caused it: its data is what the message says (with the order's).
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("event_data", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("order_id", "kind", "business_key", "medium"),
    Index("ix_notification_order_created", "order_id", "created_at", "id"),
    Index("ix_notification_created", "created_at", "id"),
    Index(
        "ix_notification_pending",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
    ),
)

# Who asked for no messages: "order:<order id>" (that order's) or "email:<address>" (every
# order of that customer, lower-cased).
notification_opt_out = Table(
    "notification_opt_out",
    metadata,
    Column("subject", Text, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
    audit=audit_table(metadata),
)
