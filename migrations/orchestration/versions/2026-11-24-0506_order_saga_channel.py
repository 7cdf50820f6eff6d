"""The order's channel on its saga, so reads can be narrowed to a caller's channels.

Existing sagas take it from the order snapshot in their `data` (oms.order.placed's channel).

Revision ID: 4e4c121cfbd4
Revises: b12e541a9550
Create Date: 2026-11-24 05:06:28.721620+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "4e4c121cfbd4"
down_revision: str | Sequence[str] | None = "b12e541a9550"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("order_saga", sa.Column("channel", sa.Text(), server_default="", nullable=False))
    op.execute(
        "UPDATE order_saga SET channel = data -> 'order' ->> 'channel' "
        "WHERE data -> 'order' ->> 'channel' IS NOT NULL"
    )
    op.create_index(
        "ix_order_saga_channel_started_at", "order_saga", ["channel", "started_at"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_order_saga_channel_started_at", table_name="order_saga")
    op.drop_column("order_saga", "channel")
