"""The carrier rate table, versioned like the routing strategy (the built-in table is version 1).

Revision ID: 7e1b3d5f9a20
Revises: 5a8c2e4f7b31
Create Date: 2026-12-05 02:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7e1b3d5f9a20"
down_revision: str | Sequence[str] | None = "5a8c2e4f7b31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_rates",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_carrier_rates")),
    )


def downgrade() -> None:
    op.drop_table("carrier_rates")
