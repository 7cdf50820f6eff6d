"""order priority

Revision ID: 5a7e1c0d9b21
Revises: 27cf510bfc33
Create Date: 2026-12-05 13:00:00.000000+00:00

An order's priority (normal or high): every order placed before this revision is normal.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a7e1c0d9b21"
down_revision: str | Sequence[str] | None = "27cf510bfc33"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sales_order",
        sa.Column("priority", sa.Text(), server_default="normal", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("sales_order", "priority")
