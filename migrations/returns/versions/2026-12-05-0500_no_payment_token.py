"""Returns keeps no payment token: the column and what it held are dropped.

The token left oms.order.placed (issue 22): a token travels only from order-capture to
orchestration (oms.payments.commands). The downgrade brings the column back empty.

Revision ID: 8d4a1b6f3c59
Revises: 5120cd08c391
Create Date: 2026-12-05 05:00:00+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "8d4a1b6f3c59"
down_revision: str | Sequence[str] | None = "5120cd08c391"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE known_order DROP COLUMN payment_token")


def downgrade() -> None:
    op.execute("ALTER TABLE known_order ADD COLUMN payment_token text")
