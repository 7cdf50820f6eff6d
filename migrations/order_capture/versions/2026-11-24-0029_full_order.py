"""full order: customer, addresses, delivery, payment, totals, line buckets, timeline, shipments

Revision ID: 65b995352a91
Revises: e536e1015172
Create Date: 2026-11-24 00:29:40.667283+00:00

Orders written before this revision (walking-skeleton orders in a development database) get
placeholder values for what they never had: an address marked "unknown", ship/standard
delivery and a "legacy" payment. The server defaults exist only to backfill those rows and
are dropped at once, so new orders must always supply every value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "65b995352a91"
down_revision: str | Sequence[str] | None = "e536e1015172"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKETS = (
    "reserved",
    "backordered",
    "allocated",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
    "refunded",
)
LEGACY_ADDRESS = (
    '\'{"name": "unknown", "line1": "unknown", "city": "unknown", '
    '"postal_code": "unknown", "country": "ZZ"}\'::jsonb'
)


def _add_backfilled(table: str, column: sa.Column, backfill: str) -> None:
    """A NOT NULL column: existing rows get `backfill`, then the default goes away."""
    column.server_default = sa.DefaultClause(sa.text(backfill))
    op.add_column(table, column)
    op.alter_column(table, column.name, server_default=None)


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    money = sa.Numeric(precision=14, scale=4)

    op.alter_column("sales_order", "total_amount", new_column_name="grand_total")
    op.add_column("sales_order", sa.Column("customer_id", sa.Text(), nullable=True))
    op.add_column("sales_order", sa.Column("customer_phone", sa.Text(), nullable=True))
    _add_backfilled(
        "sales_order", sa.Column("shipping_address", jsonb, nullable=False), LEGACY_ADDRESS
    )
    op.add_column("sales_order", sa.Column("billing_address", jsonb, nullable=True))
    _add_backfilled(
        "sales_order", sa.Column("delivery_method", sa.Text(), nullable=False), "'ship'"
    )
    _add_backfilled(
        "sales_order", sa.Column("service_level", sa.Text(), nullable=False), "'standard'"
    )
    op.add_column("sales_order", sa.Column("pickup_location_code", sa.Text(), nullable=True))
    _add_backfilled(
        "sales_order",
        sa.Column("payment", jsonb, nullable=False),
        """'{"method": "legacy", "amount": "0"}'::jsonb""",
    )
    _add_backfilled("sales_order", sa.Column("subtotal", money, nullable=False), "0")
    _add_backfilled("sales_order", sa.Column("discount_total", money, nullable=False), "0")
    _add_backfilled("sales_order", sa.Column("tax_total", money, nullable=False), "0")
    _add_backfilled("sales_order", sa.Column("shipping_amount", money, nullable=False), "0")
    op.execute("UPDATE sales_order SET subtotal = grand_total")
    op.add_column("sales_order", sa.Column("requested_delivery_date", sa.Date(), nullable=True))
    _add_backfilled("sales_order", sa.Column("tags", sa.ARRAY(sa.Text()), nullable=False), "'{}'")
    _add_backfilled("sales_order", sa.Column("metadata", jsonb, nullable=False), "'{}'::jsonb")
    op.add_column("sales_order", sa.Column("notes", sa.Text(), nullable=True))
    _add_backfilled("sales_order", sa.Column("on_hold", sa.Boolean(), nullable=False), "false")
    _add_backfilled("sales_order", sa.Column("closed", sa.Boolean(), nullable=False), "false")
    _add_backfilled(
        "sales_order", sa.Column("applied_facts", sa.ARRAY(sa.Text()), nullable=False), "'{}'"
    )
    _add_backfilled("sales_order", sa.Column("event_sequence", sa.Integer(), nullable=False), "0")
    op.create_index(
        "ix_sales_order_customer_email_lower",
        "sales_order",
        [sa.literal_column("lower(customer_email)")],
        unique=False,
    )

    op.add_column("order_line", sa.Column("name", sa.Text(), nullable=True))
    _add_backfilled("order_line", sa.Column("discount_amount", money, nullable=False), "0")
    _add_backfilled("order_line", sa.Column("tax_amount", money, nullable=False), "0")
    for bucket in BUCKETS:
        _add_backfilled("order_line", sa.Column(bucket, sa.Integer(), nullable=False), "0")
    op.create_check_constraint(
        op.f("ck_order_line_buckets_not_negative"),
        "order_line",
        " AND ".join(f"{b} >= 0" for b in BUCKETS),
    )
    op.create_check_constraint(
        op.f("ck_order_line_buckets_within_quantity"),
        "order_line",
        "reserved + backordered + allocated + shipped + cancelled <= quantity",
    )
    op.create_check_constraint(
        op.f("ck_order_line_delivered_returned"),
        "order_line",
        "delivered <= shipped AND returned <= shipped",
    )
    op.create_index("ix_order_line_sku", "order_line", ["sku"], unique=False)

    op.create_table(
        "order_shipment",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("shipment_id", sa.Text(), nullable=False),
        sa.Column("carrier", sa.Text(), nullable=False),
        sa.Column("tracking_number", sa.Text(), nullable=False),
        sa.Column("tracking_url", sa.Text(), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sales_order.id"],
            name=op.f("fk_order_shipment_order_id_sales_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "shipment_id", name=op.f("pk_order_shipment")),
    )
    op.create_table(
        "order_timeline_entry",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("previous_status", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("event_sequence", sa.Integer(), nullable=True),
        sa.Column("details", jsonb, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sales_order.id"],
            name=op.f("fk_order_timeline_entry_order_id_sales_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_order_timeline_entry")),
    )
    op.create_index(
        "ix_order_timeline_entry_order_id_seq",
        "order_timeline_entry",
        ["order_id", "seq"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_order_timeline_entry_order_id_seq", table_name="order_timeline_entry")
    op.drop_table("order_timeline_entry")
    op.drop_table("order_shipment")
    op.drop_index("ix_order_line_sku", table_name="order_line")
    for name in ("delivered_returned", "buckets_within_quantity", "buckets_not_negative"):
        op.drop_constraint(op.f(f"ck_order_line_{name}"), "order_line", type_="check")
    for column in ("name", "discount_amount", "tax_amount", *BUCKETS):
        op.drop_column("order_line", column)
    op.drop_index("ix_sales_order_customer_email_lower", table_name="sales_order")
    for column in (
        "customer_id",
        "customer_phone",
        "shipping_address",
        "billing_address",
        "delivery_method",
        "service_level",
        "pickup_location_code",
        "payment",
        "subtotal",
        "discount_total",
        "tax_total",
        "shipping_amount",
        "requested_delivery_date",
        "tags",
        "metadata",
        "notes",
        "on_hold",
        "closed",
        "applied_facts",
        "event_sequence",
    ):
        op.drop_column("sales_order", column)
    op.alter_column("sales_order", "grand_total", new_column_name="total_amount")
