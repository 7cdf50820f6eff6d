"""Orders waiting for stock: when the view's stock last changed, and an index of the waiting.

An order no location can serve waits (state `waiting_for_stock`) and is planned again when
the view's stock of one of its SKUs changes: routing_stock.changed_at says when. The partial
index keeps finding the waiting sagas cheap however many orders there are.

Revision ID: 3d7f0a2c9e15
Revises: 9c4e1a7b2d53
Create Date: 2026-12-05 00:00:00+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "3d7f0a2c9e15"
down_revision: str | Sequence[str] | None = "9c4e1a7b2d53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE routing_stock ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now()")
    op.execute(
        "CREATE INDEX ix_order_saga_waiting ON order_saga (due_at)"
        " WHERE state = 'waiting_for_stock'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_order_saga_waiting")
    op.execute("ALTER TABLE routing_stock DROP COLUMN changed_at")
