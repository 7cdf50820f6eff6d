"""Sending webhooks: a delivery's lease, times and last outcome, every attempt it took, and when
an endpoint started failing.

Revision ID: 9c3d1e7f2a40
Revises: 44751b32e7a0
Create Date: 2026-12-05 16:40:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "9c3d1e7f2a40"
down_revision: str | Sequence[str] | None = "44751b32e7a0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "webhook_delivery", sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "webhook_delivery", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "webhook_delivery",
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "webhook_delivery", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("webhook_delivery", sa.Column("last_status_code", sa.Integer(), nullable=True))
    op.add_column("webhook_delivery", sa.Column("last_error", sa.Text(), nullable=True))
    # Deliveries an endpoint must send before a later one of the same order (see the claim).
    op.create_index(
        "ix_webhook_delivery_order_queue",
        "webhook_delivery",
        ["endpoint_id", "aggregate_key", "seq"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "webhook_delivery_attempt",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_delivery.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_webhook_delivery_attempt_delivery",
        "webhook_delivery_attempt",
        ["delivery_id", "number"],
        unique=False,
    )
    op.add_column(
        "webhook_endpoint", sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("webhook_endpoint", "failing_since")
    op.drop_index("ix_webhook_delivery_attempt_delivery", table_name="webhook_delivery_attempt")
    op.drop_table("webhook_delivery_attempt")
    op.drop_index(
        "ix_webhook_delivery_order_queue",
        table_name="webhook_delivery",
        postgresql_where=sa.text("status = 'pending'"),
    )
    for column in (
        "last_error",
        "last_status_code",
        "delivered_at",
        "last_attempt_at",
        "expires_at",
        "leased_until",
    ):
        op.drop_column("webhook_delivery", column)
