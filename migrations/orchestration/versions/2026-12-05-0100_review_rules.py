"""Manual review's rules, versioned like the routing strategy.

Revision ID: 5a8c2e4f7b31
Revises: 3d7f0a2c9e15
Create Date: 2026-12-05 01:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5a8c2e4f7b31"
down_revision: str | Sequence[str] | None = "3d7f0a2c9e15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_rules",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_review_rules")),
    )


def downgrade() -> None:
    op.drop_table("review_rules")
