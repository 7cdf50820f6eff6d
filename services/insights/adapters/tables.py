from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    Uuid,
)

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

# --- The projection: facts per order, fulfilment, shipment, hold, return, refund, and per SKU
# and location. Each row is keyed by its business key, so a repeated fact is an upsert that
# changes nothing; times are the events' own. The key figures are aggregated from these at
# read time (adapters/kpi_queries.py).

kpi_order = Table(
    "kpi_order",
    metadata,
    # Upserted by whichever of the order's events comes first: the placement fills in channel,
    # currency, total and placed_at (an order without placed_at counts in no cohort yet).
    Column("order_id", Uuid, primary_key=True),
    Column("channel", Text),
    Column("currency", Text),
    Column("total", Numeric(18, 4)),
    Column("placed_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    # The most locations one plan that held named (order_routed): 2 or more is a split.
    Column("plan_locations", Integer, nullable=False, server_default="0"),
    Column("dispatch_overdue_at", DateTime(timezone=True)),
    Index("ix_kpi_order_placed_at", "placed_at"),
)

kpi_order_line = Table(
    "kpi_order_line",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("line_id", Text, primary_key=True),
    Column("sku", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
)

kpi_fulfilment = Table(
    "kpi_fulfilment",
    metadata,
    Column("fulfillment_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("location", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_kpi_fulfilment_created_at", "created_at"),
)

kpi_shipment = Table(
    "kpi_shipment",
    metadata,
    Column("shipment_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("location", Text, nullable=False),
    # Null while only its delivery was consumed (a delivery before its shipment cannot be in
    # one partition, but the row is an upsert either way).
    Column("shipped_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("units", Integer, nullable=False, server_default="0"),
    Index("ix_kpi_shipment_shipped_at", "shipped_at"),
)

kpi_shipped_line = Table(
    "kpi_shipped_line",
    metadata,
    Column("shipment_id", Text, primary_key=True),
    Column("line_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("quantity", Integer, nullable=False),
)

kpi_hold = Table(
    "kpi_hold",
    metadata,
    Column("hold_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("reason_code", Text, nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
)

kpi_backorder = Table(
    "kpi_backorder",
    metadata,
    Column("reservation_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("started_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
)

kpi_return = Table(
    "kpi_return",
    metadata,
    Column("return_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("requested_at", DateTime(timezone=True)),
    Column("rejected", Boolean, nullable=False, server_default="false"),
)

kpi_return_line = Table(
    "kpi_return_line",
    metadata,
    Column("return_id", Text, primary_key=True),
    Column("line_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("sku", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
)

kpi_refund = Table(
    "kpi_refund",
    metadata,
    Column("refund_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("return_id", Text, nullable=False),
    Column("amount", Numeric(18, 4), nullable=False),
    Column("currency", Text, nullable=False),
    Column("refunded_at", DateTime(timezone=True), nullable=False),
)

kpi_stock = Table(
    "kpi_stock",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("location", Text, primary_key=True),
    Column("available", Integer, nullable=False),
    Column("network_available", Integer, nullable=False),
    # Since when available has been 0 (null while it is not).
    Column("out_since", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

kpi_stock_out = Table(
    "kpi_stock_out",
    metadata,
    # One row each time a location's available units of a SKU fell to 0.
    Column("sku", Text, primary_key=True),
    Column("location", Text, primary_key=True),
    Column("at", DateTime(timezone=True), primary_key=True),
    Index("ix_kpi_stock_out_at", "at"),
)

kpi_sku_threshold = Table(
    "kpi_sku_threshold",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("threshold", Integer, nullable=False),
    Column("low_since", DateTime(timezone=True), nullable=False),
)

kpi_location = Table(
    "kpi_location",
    metadata,
    Column("location", Text, primary_key=True),
    Column("daily_order_capacity", Integer),
    Column("version", Integer, nullable=False),
)

# What the rebuild empties (with the inbox), children before parents for readability only:
# no table has a foreign key, the facts of one order may come in any order.
PROJECTION_TABLES = (
    kpi_order,
    kpi_order_line,
    kpi_fulfilment,
    kpi_shipment,
    kpi_shipped_line,
    kpi_hold,
    kpi_backorder,
    kpi_return,
    kpi_return_line,
    kpi_refund,
    kpi_stock,
    kpi_stock_out,
    kpi_sku_threshold,
    kpi_location,
)
