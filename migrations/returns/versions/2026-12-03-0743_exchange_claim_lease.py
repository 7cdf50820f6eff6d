"""A lease on a pending exchange: until when one returns process is placing its order.

Several processes run the exchange worker; each claims an exchange before it calls
order-capture, so two never place the same replacement order at once.

Revision ID: 5120cd08c391
Revises: f9e32b71fd6e
Create Date: 2026-12-03 07:43:43.004889+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5120cd08c391"
down_revision: str | Sequence[str] | None = "f9e32b71fd6e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "return_request",
        sa.Column("exchange_claimed_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("return_request", "exchange_claimed_until")
