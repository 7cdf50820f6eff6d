from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Numeric, Table, Text, Uuid

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

known_order = Table(
    "known_order",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("order_number", Text, nullable=False, unique=True),
    Column("customer_email", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
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
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
)
