"""An index on sales_order.channel_order_ref, for the list's channel_order_ref filter.

The filter comes without a channel (the console's search box takes an order number, an e-mail
or a channel's reference); the unique (channel, channel_order_ref) index leads with the
channel and cannot serve it, so without this index each search would read every order.

Built in the migration's transaction, which holds the order inserts while it builds. Where
sales_order is large, create the index beforehand without that lock, under the same name, and
this revision leaves it be:
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_sales_order_channel_order_ref
        ON sales_order (channel_order_ref);

Revision ID: 8c3d2f7a6e10
Revises: 535b53fc6156
Create Date: 2026-12-08 09:00:00.000000+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "8c3d2f7a6e10"
down_revision: str | Sequence[str] | None = "535b53fc6156"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_sales_order_channel_order_ref",
        "sales_order",
        ["channel_order_ref"],
        unique=False,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_sales_order_channel_order_ref", table_name="sales_order")
