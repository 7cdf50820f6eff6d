"""The simulated payment provider counts how often each idempotency key was asked.

A real provider shows its merchant the requests it received, repeats included; with several
orchestration processes the count shows that each payment call was made once (the tests read
it).

Revision ID: 3ee1678b7efb
Revises: 8a6d8a79216d
Create Date: 2026-12-03 07:49:51.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "3ee1678b7efb"
down_revision: str | Sequence[str] | None = "8a6d8a79216d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "simulated_payment",
        sa.Column("requests", sa.Integer(), server_default="1", nullable=False),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("simulated_payment", "requests")
