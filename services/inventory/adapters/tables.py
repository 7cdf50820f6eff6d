from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
)

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

stock_level = Table(
    "stock_level",
    metadata,
    Column("location_code", Text, nullable=False),
    Column("sku", Text, nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("location_code", "sku"),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    # The database itself refuses an oversell, whatever the code above it does.
    CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
)

reservation = Table(
    "reservation",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False, unique=True),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

reservation_line = Table(
    "reservation_line",
    metadata,
    Column(
        "reservation_id", Uuid, ForeignKey("reservation.id", ondelete="CASCADE"), nullable=False
    ),
    Column("sku", Text, nullable=False),
    Column("location_code", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    PrimaryKeyConstraint("reservation_id", "sku", "location_code"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
)
