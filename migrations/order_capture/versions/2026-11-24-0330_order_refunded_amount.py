"""order refunded amount

Revision ID: c431c4bde48f
Revises: 65b995352a91
Create Date: 2026-11-24 03:30:00.000000+00:00

The money refunded on an order, summed over its refunds. Orders that were refunded before
this revision get the sum of the amounts their timeline recorded for each refund (each
refund fact is recorded once); every other order starts at 0. The server default exists
only to backfill existing rows and is dropped at once, so new orders must always supply it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c431c4bde48f"
down_revision: str | Sequence[str] | None = "65b995352a91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sales_order",
        sa.Column(
            "refunded_amount",
            sa.Numeric(precision=14, scale=4),
            server_default=sa.text("0"),
            nullable=False,
        ),
    )
    op.alter_column("sales_order", "refunded_amount", server_default=None)
    op.execute(
        """
        UPDATE sales_order
        SET refunded_amount = refunds.total
        FROM (
            SELECT order_id, coalesce(sum((details ->> 'amount')::numeric), 0) AS total
            FROM order_timeline_entry
            WHERE kind = 'refunded'
            GROUP BY order_id
        ) AS refunds
        WHERE refunds.order_id = sales_order.id
        """
    )


def downgrade() -> None:
    op.drop_column("sales_order", "refunded_amount")
