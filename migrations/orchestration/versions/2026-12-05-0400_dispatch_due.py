"""Promised dispatches: when a saga's first promised dispatch is late, and its index.

Each saga keeps what it promised to dispatch by when (its data's `promises`); the column is
the earliest of them, so the worker's sweep finds the late ones (order_delayed) through the
partial index however many orders there are.

Revision ID: 6b2e9d4f1a37
Revises: 65dfa291c4ab
Create Date: 2026-12-05 04:00:00+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "6b2e9d4f1a37"
down_revision: str | Sequence[str] | None = "65dfa291c4ab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE order_saga ADD COLUMN dispatch_due_at timestamptz")
    op.execute(
        "CREATE INDEX ix_order_saga_dispatch_due_at ON order_saga (dispatch_due_at)"
        " WHERE dispatch_due_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_order_saga_dispatch_due_at")
    op.execute("ALTER TABLE order_saga DROP COLUMN dispatch_due_at")
