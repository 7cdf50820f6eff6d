"""Who has ordered before, for manual review's new-customer rule: one row a customer (the
lower-cased e-mail address), filled from the sagas started so far, so the customers of
orders placed before this migration are not taken for new ones.

Revision ID: 65dfa291c4ab
Revises: 7e1b3d5f9a20
Create Date: 2026-12-05 03:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "65dfa291c4ab"
down_revision: str | Sequence[str] | None = "7e1b3d5f9a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_history",
        sa.Column("customer_key", sa.Text(), nullable=False),
        sa.Column("first_order_id", sa.Uuid(), nullable=False),
        sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_key", name=op.f("pk_customer_history")),
    )
    op.execute(
        """
        INSERT INTO customer_history (customer_key, first_order_id, first_order_at, orders)
        SELECT DISTINCT ON (customer_key) customer_key, order_id, placed_at,
               count(*) OVER (PARTITION BY customer_key)
        FROM (
          SELECT lower(btrim(data -> 'order' ->> 'customer_email')) AS customer_key,
                 order_id, started_at,
                 coalesce((data -> 'order' ->> 'placed_at')::timestamptz, started_at) AS placed_at
          FROM order_saga
        ) AS placed
        WHERE customer_key <> ''
        ORDER BY customer_key, started_at, order_id
        """
    )


def downgrade() -> None:
    op.drop_table("customer_history")
