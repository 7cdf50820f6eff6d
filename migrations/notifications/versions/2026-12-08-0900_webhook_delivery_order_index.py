"""An index on webhook_delivery (order_id, seq), for an order's deliveries.

GET /v1/deliveries?order_id= lists the deliveries made for one order, newest first; without
the index each request would read every delivery.

Built in the migration's transaction, which holds the deliveries' inserts (the consumers) while
it builds. Where webhook_delivery is large, create the index beforehand without that lock, under
the same name, and this revision leaves it be:
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_webhook_delivery_order
        ON webhook_delivery (order_id, seq);

Revision ID: 6f1a9d3c2b74
Revises: 02cffa470907
Create Date: 2026-12-08 09:00:00.000000+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "6f1a9d3c2b74"
down_revision: str | Sequence[str] | None = "02cffa470907"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_delivery_order",
        "webhook_delivery",
        ["order_id", "seq"],
        unique=False,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_order", table_name="webhook_delivery")
