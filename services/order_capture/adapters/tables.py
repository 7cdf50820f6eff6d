from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Sequence,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import idempotency_table, inbox_table, outbox_table

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
    Column("customer_email", Text, nullable=False),
    Column("customer_name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("total_amount", Numeric(14, 4), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("channel", "channel_order_ref"),
    Index("ix_sales_order_created_at_id", "created_at", "id"),
    Index("ix_sales_order_status", "status"),
)

order_line = Table(
    "order_line",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("sales_order.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("sku", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(14, 4), nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    UniqueConstraint("order_id", "sku"),
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
)
