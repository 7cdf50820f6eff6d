"""returns policy rmas refunds

Revision ID: f650e7df8815
Revises: 03c8d3d0b555
Create Date: 2026-11-24 03:32:00.924463+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "f650e7df8815"
down_revision: str | Sequence[str] | None = "03c8d3d0b555"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # Autogenerate does not see sequences: the RMA numbers' one is created by hand.
    op.execute(sa.schema.CreateSequence(sa.Sequence("rma_number_seq", start=1000)))
    op.create_table(
        "return_policy",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_return_policy")),
    )
    op.create_table(
        "seen_shipment",
        sa.Column("shipment_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", "kind", name=op.f("pk_seen_shipment")),
    )
    op.create_table(
        "return_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rma_number", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("exchange_status", sa.Text(), nullable=True),
        sa.Column(
            "refunded_amount", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["known_order.order_id"],
            name=op.f("fk_return_request_order_id_known_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_request")),
        sa.UniqueConstraint("rma_number", name=op.f("uq_return_request_rma_number")),
    )
    op.create_index(
        "ix_return_request_created", "return_request", ["created_at", "id"], unique=False
    )
    op.create_index(
        "ix_return_request_exchange_pending",
        "return_request",
        ["updated_at"],
        unique=False,
        postgresql_where=sa.text("exchange_status = 'pending'"),
    )
    op.create_index(
        op.f("ix_return_request_order_id"), "return_request", ["order_id"], unique=False
    )
    op.create_table(
        "refund",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("return_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["return_id"], ["return_request.id"], name=op.f("fk_refund_return_id_return_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund")),
    )
    op.create_index(op.f("ix_refund_order_id"), "refund", ["order_id"], unique=False)
    op.create_index(op.f("ix_refund_return_id"), "refund", ["return_id"], unique=False)
    op.create_table(
        "return_line",
        sa.Column("return_id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["return_request.id"],
            name=op.f("fk_return_line_return_id_return_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("return_id", "line_id", name=op.f("pk_return_line")),
    )
    op.create_index(op.f("ix_return_line_order_id"), "return_line", ["order_id"], unique=False)
    op.add_column("known_order", sa.Column("channel", sa.Text(), server_default="", nullable=False))
    op.add_column(
        "known_order", sa.Column("customer_name", sa.Text(), server_default="", nullable=False)
    )
    op.add_column(
        "known_order",
        sa.Column(
            "shipping_amount", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False
        ),
    )
    op.add_column(
        "known_order",
        sa.Column(
            "grand_total", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False
        ),
    )
    op.add_column(
        "known_order",
        sa.Column(
            "tags",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "known_order",
        sa.Column(
            "shipping_address",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("known_order", sa.Column("payment_token", sa.Text(), nullable=True))
    op.add_column(
        "known_order",
        sa.Column(
            "credits",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "known_order_line",
        sa.Column(
            "discount_amount", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False
        ),
    )
    op.add_column(
        "known_order_line",
        sa.Column(
            "tax_amount", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False
        ),
    )
    op.add_column("known_order_line", sa.Column("name", sa.Text(), nullable=True))
    op.add_column(
        "known_order_line", sa.Column("shipped", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "known_order_line", sa.Column("delivered", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "known_order_line", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.execute(sa.schema.DropSequence(sa.Sequence("rma_number_seq")))
    op.drop_column("known_order_line", "delivered_at")
    op.drop_column("known_order_line", "delivered")
    op.drop_column("known_order_line", "shipped")
    op.drop_column("known_order_line", "name")
    op.drop_column("known_order_line", "tax_amount")
    op.drop_column("known_order_line", "discount_amount")
    op.drop_column("known_order", "credits")
    op.drop_column("known_order", "payment_token")
    op.drop_column("known_order", "shipping_address")
    op.drop_column("known_order", "tags")
    op.drop_column("known_order", "grand_total")
    op.drop_column("known_order", "shipping_amount")
    op.drop_column("known_order", "customer_name")
    op.drop_column("known_order", "channel")
    op.drop_index(op.f("ix_return_line_order_id"), table_name="return_line")
    op.drop_table("return_line")
    op.drop_index(op.f("ix_refund_return_id"), table_name="refund")
    op.drop_index(op.f("ix_refund_order_id"), table_name="refund")
    op.drop_table("refund")
    op.drop_index(op.f("ix_return_request_order_id"), table_name="return_request")
    op.drop_index(
        "ix_return_request_exchange_pending",
        table_name="return_request",
        postgresql_where=sa.text("exchange_status = 'pending'"),
    )
    op.drop_index("ix_return_request_created", table_name="return_request")
    op.drop_table("return_request")
    op.drop_table("seen_shipment")
    op.drop_table("return_policy")
