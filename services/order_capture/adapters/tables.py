from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    Sequence,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import audit_table, idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

order_number_seq = Sequence("order_number_seq", metadata=metadata, start=1000)

sales_order = Table(
    "sales_order",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_number", Text, nullable=False, unique=True),
    Column("channel", Text, nullable=False),
    Column("channel_order_ref", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("customer_id", Text),
    Column("customer_email", Text, nullable=False),
    Column("customer_name", Text, nullable=False),
    Column("customer_phone", Text),
    Column("shipping_address", JSONB, nullable=False),
    Column("billing_address", JSONB),
    Column("delivery_method", Text, nullable=False),
    Column("service_level", Text, nullable=False),
    Column("pickup_location_code", Text),
    # The payment as the channel sent it, token included (orchestration authorises with it);
    # the API never shows the token again.
    Column("payment", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("subtotal", Numeric(14, 4), nullable=False),
    Column("discount_total", Numeric(14, 4), nullable=False),
    Column("tax_total", Numeric(14, 4), nullable=False),
    Column("shipping_amount", Numeric(14, 4), nullable=False),
    Column("grand_total", Numeric(14, 4), nullable=False),
    # The sum of the refunds paid on the order (each refund counted once).
    Column("refunded_amount", Numeric(14, 4), nullable=False),
    Column("requested_delivery_date", Date),
    Column("tags", ARRAY(Text), nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("notes", Text),
    # normal or high (domain.values.Priority).
    Column("priority", Text, nullable=False, server_default="normal"),
    Column("on_hold", Boolean, nullable=False),
    Column("closed", Boolean, nullable=False),
    # Business keys of the reports already applied (shipment ids, ...): a report repeated
    # under a new event id still applies once.
    Column("applied_facts", ARRAY(Text), nullable=False),
    Column("event_sequence", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("channel", "channel_order_ref"),
    Index("ix_sales_order_created_at_id", "created_at", "id"),
    Index("ix_sales_order_status", "status"),
)
# Customer e-mails are matched case-insensitively (the list filter and self-service).
Index("ix_sales_order_customer_email_lower", func.lower(sales_order.c.customer_email))
# The list's channel_order_ref filter comes without a channel (the console's search box): the
# unique (channel, channel_order_ref) index leads with the channel, so it cannot serve that.
Index("ix_sales_order_channel_order_ref", sales_order.c.channel_order_ref)

LINE_BUCKETS = (
    "reserved",
    "backordered",
    "allocated",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
    "refunded",
)

order_line = Table(
    "order_line",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("sales_order.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("sku", Text, nullable=False),
    Column("name", Text),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(14, 4), nullable=False),
    Column("discount_amount", Numeric(14, 4), nullable=False),
    Column("tax_amount", Numeric(14, 4), nullable=False),
    *(Column(bucket, Integer, nullable=False) for bucket in LINE_BUCKETS),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    # The books can never hold more units than were ordered, whatever a report says.
    CheckConstraint(" AND ".join(f"{b} >= 0" for b in LINE_BUCKETS), name="buckets_not_negative"),
    CheckConstraint(
        "reserved + backordered + allocated + shipped + cancelled <= quantity",
        name="buckets_within_quantity",
    ),
    CheckConstraint("delivered <= shipped AND returned <= shipped", name="delivered_returned"),
    UniqueConstraint("order_id", "sku"),
    Index("ix_order_line_sku", "sku"),
)

order_shipment = Table(
    "order_shipment",
    metadata,
    Column("order_id", Uuid, ForeignKey("sales_order.id", ondelete="CASCADE"), primary_key=True),
    Column("shipment_id", Text, primary_key=True),
    Column("carrier", Text, nullable=False),
    Column("tracking_number", Text, nullable=False),
    Column("tracking_url", Text),
    Column("shipped_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
)

timeline_entry = Table(
    "order_timeline_entry",
    metadata,
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("order_id", Uuid, ForeignKey("sales_order.id", ondelete="CASCADE"), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("source", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("previous_status", Text),
    Column("status", Text),
    Column("event_sequence", Integer),
    Column("details", JSONB, nullable=False),
    Index("ix_order_timeline_entry_order_id_seq", "order_id", "seq"),
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
    audit=audit_table(metadata),
)
