from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    Sequence,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import audit_table, idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

# --- returns' own view of orders, built from order and orchestration events ----------------

known_order = Table(
    "known_order",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("order_number", Text, nullable=False, unique=True),
    Column("customer_email", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("channel", Text, nullable=False, server_default=""),
    Column("customer_name", Text, nullable=False, server_default=""),
    Column("shipping_amount", Numeric(14, 4), nullable=False, server_default="0"),
    Column("grand_total", Numeric(14, 4), nullable=False, server_default="0"),
    Column("tags", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("shipping_address", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # What its returns were credited with so far: the base of every next refund quote.
    Column("credits", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)

known_order_line = Table(
    "known_order_line",
    metadata,
    Column("line_id", Uuid, primary_key=True),
    Column(
        "order_id",
        Uuid,
        ForeignKey("known_order.order_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("sku", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(14, 4), nullable=False),
    Column("discount_amount", Numeric(14, 4), nullable=False, server_default="0"),
    Column("tax_amount", Numeric(14, 4), nullable=False, server_default="0"),
    Column("name", Text, nullable=True),
    Column("shipped", Integer, nullable=False, server_default="0"),
    Column("delivered", Integer, nullable=False, server_default="0"),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
)

# Deliveries seen, so a redelivered (or re-sent) delivery event counts its units once.
seen_shipment = Table(
    "seen_shipment",
    metadata,
    Column("shipment_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # shipped | delivered
    Column("order_id", Uuid, nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("shipment_id", "kind"),
)

# --- policy and returns --------------------------------------------------------------------

return_policy = Table(
    "return_policy",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

rma_number_seq = Sequence("rma_number_seq", metadata=metadata, start=1000)

return_request = Table(
    "return_request",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("rma_number", Text, nullable=False, unique=True),
    Column("order_id", Uuid, ForeignKey("known_order.order_id"), nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("resolution", Text, nullable=False),
    Column("exchange_status", Text, nullable=True),  # pending | placed | failed
    # Until when one process's exchange worker holds the pending exchange (it is calling
    # order-capture); NULL or past: any process may take it.
    Column("exchange_claimed_until", DateTime(timezone=True), nullable=True),
    Column("refunded_amount", Numeric(14, 4), nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", JSONB, nullable=False),
    Index("ix_return_request_created", "created_at", "id"),
    Index(
        "ix_return_request_exchange_pending",
        "updated_at",
        postgresql_where=text("exchange_status = 'pending'"),
    ),
)

# One row per returned order line: what analytics and "already in a return" count.
return_line = Table(
    "return_line",
    metadata,
    Column("return_id", Uuid, ForeignKey("return_request.id", ondelete="CASCADE"), nullable=False),
    Column("line_id", Uuid, nullable=False),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("sku", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("received", Integer, nullable=False),
    PrimaryKeyConstraint("return_id", "line_id"),
)

# The refund ledger: every refund asked for, and how it ended.
refund = Table(
    "refund",
    metadata,
    Column("id", Text, primary_key=True),
    Column("return_id", Uuid, ForeignKey("return_request.id"), nullable=False, index=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("method", Text, nullable=False),
    Column("amount", Numeric(14, 4), nullable=False),
    Column("currency", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("settled_at", DateTime(timezone=True), nullable=True),
    Column("reason", Text, nullable=True),
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
    audit=audit_table(metadata),
)
