"""Payment tokens: each order's token from order-capture, on oms.payments.commands.

The token left oms.order.placed (issue 22): orchestration keeps it in a table of its own,
keyed by the order, which the saga worker reads when it authorises.

Revision ID: 7c3f0a5e2b48
Revises: 6b2e9d4f1a37
Create Date: 2026-12-05 05:00:00+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c3f0a5e2b48"
down_revision: str | Sequence[str] | None = "6b2e9d4f1a37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE payment_token ("
        " order_id uuid PRIMARY KEY,"
        " token text,"
        " received_at timestamptz NOT NULL)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE payment_token")
