"""Inventory's tables. The database enforces what must never break, whatever the code above:
no counter below zero and no location holding more reserved units than it has on hand."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    Time,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import audit_table, idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

location = Table(
    "location",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("address", JSONB, nullable=False),
    # Copied out of the address: the availability query filters on it.
    Column("country", Text, nullable=False, index=True),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("capabilities", ARRAY(Text), nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("daily_order_capacity", Integer, nullable=True),
    Column("processing_days", Integer, nullable=False, server_default="0"),
    Column("cutoff_time", Time, nullable=True),
    Column("timezone", Text, nullable=False, server_default="UTC"),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("type IN ('warehouse', 'store', 'dropship', '3pl')", name="type_known"),
    CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_in_range"),
    CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_in_range"),
    CheckConstraint("daily_order_capacity >= 0", name="capacity_not_negative"),
    CheckConstraint("processing_days >= 0", name="processing_days_not_negative"),
)

stock_level = Table(
    "stock_level",
    metadata,
    Column("location_code", Text, ForeignKey("location.code"), nullable=False),
    Column("sku", Text, nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("safety_stock", Integer, nullable=False, server_default="0"),
    # Safety stock is a buffer that reservations never touch. A count that falls into it
    # leaves nothing available (0), never a negative number.
    Column(
        "available",
        Integer,
        Computed("GREATEST(on_hand - reserved - safety_stock, 0)", persisted=True),
        nullable=False,
    ),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("location_code", "sku"),
    Index("ix_stock_level_sku", "sku"),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("safety_stock >= 0", name="safety_stock_not_negative"),
    # The database itself refuses an oversell, whatever the code above it does.
    CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
)

# The append-only ledger: every change of on_hand or reserved writes one row, so each counter
# equals the sum of its deltas (GET /invariants checks that).
stock_movement = Table(
    "stock_movement",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("location_code", Text, nullable=False),
    Column("sku", Text, nullable=False),
    Column("on_hand_delta", Integer, nullable=False),
    Column("reserved_delta", Integer, nullable=False),
    Column("on_hand_after", Integer, nullable=False),
    Column("reserved_after", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reference", Text, nullable=True),
    Column("note", Text, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_stock_movement_sku_id", "sku", "id"),
    Index("ix_stock_movement_location_sku", "location_code", "sku"),
    Index("ix_stock_movement_reference", "reference"),
)

sku_policy = Table(
    "sku_policy",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("low_stock_threshold", Integer, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
)

inbound = Table(
    "inbound",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("location_code", Text, ForeignKey("location.code"), nullable=False),
    Column("sku", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("received_quantity", Integer, nullable=False, server_default="0"),
    Column("cancelled_quantity", Integer, nullable=False, server_default="0"),
    Column("expected_at", DateTime(timezone=True), nullable=False),
    Column("reference", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_inbound_open", "location_code", "sku", postgresql_where=text("status = 'open'")),
    Index("ix_inbound_sku", "sku"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint(
        "received_quantity >= 0 AND cancelled_quantity >= 0", name="counts_not_negative"
    ),
    CheckConstraint(
        "received_quantity + cancelled_quantity <= quantity", name="settled_within_quantity"
    ),
)

reservation = Table(
    "reservation",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("allow_backorder", Boolean, nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),
    # Backorders are served by this time (within priority): the order's time, not arrival.
    Column("ordered_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_reservation_expiring", "expires_at", postgresql_where=text("status = 'held'")),
)

reservation_line = Table(
    "reservation_line",
    metadata,
    Column(
        "reservation_id", Uuid, ForeignKey("reservation.id", ondelete="CASCADE"), nullable=False
    ),
    Column("line_no", Integer, nullable=False),
    Column("sku", Text, nullable=False),
    # Null only on a rejected line that no location could serve.
    Column("location_code", Text, nullable=True),
    Column("order_line_id", Text, nullable=True),
    Column("quantity", Integer, nullable=False),
    Column("held", Integer, nullable=False),
    Column("backordered", Integer, nullable=False),
    Column("committed", Integer, nullable=False),
    Column("released", Integer, nullable=False),
    Column("expected_at", DateTime(timezone=True), nullable=True),
    # On a rejected line: what could have been reserved.
    Column("available_at_request", Integer, nullable=True),
    PrimaryKeyConstraint("reservation_id", "line_no"),
    Index(
        "ix_reservation_line_waiting",
        "location_code",
        "sku",
        postgresql_where=text("backordered > 0"),
    ),
    Index("ix_reservation_line_open", "location_code", "sku", postgresql_where=text("held > 0")),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint(
        "held >= 0 AND backordered >= 0 AND committed >= 0 AND released >= 0",
        name="buckets_not_negative",
    ),
    CheckConstraint(
        "held + backordered + committed + released <= quantity", name="buckets_within_quantity"
    ),
)

stock_import = Table(
    "stock_import",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("status", Text, nullable=False),
    Column("mode", Text, nullable=False),
    Column("format", Text, nullable=False),
    Column("rows_received", Integer, nullable=False, server_default="0"),
    Column("rows_invalid", Integer, nullable=False, server_default="0"),
    Column("rows_applied", Integer, nullable=False, server_default="0"),
    Column("failure_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_stock_import_pending", "created_at", postgresql_where=text("status = 'queued'")),
)

# Staged rows of an import: the upload streams into here, the worker applies them set-wise.
stock_import_row = Table(
    "stock_import_row",
    metadata,
    Column("import_id", Uuid, ForeignKey("stock_import.id", ondelete="CASCADE"), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("location_code", Text, nullable=False),
    Column("sku", Text, nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("safety_stock", Integer, nullable=True),
    PrimaryKeyConstraint("import_id", "line_number"),
)

stock_import_error = Table(
    "stock_import_error",
    metadata,
    Column("import_id", Uuid, ForeignKey("stock_import.id", ondelete="CASCADE"), nullable=False),
    Column("line_number", Integer, nullable=False),
    Column("message", Text, nullable=False),
    PrimaryKeyConstraint("import_id", "line_number"),
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
    audit=audit_table(metadata),
)
