"""An index for the daily-capacity count: a location's fulfilment orders since its midnight.

Routing counts them for every candidate location of every order; without it, the count read
every fulfilment order the location ever had.

Revision ID: 8a6d8a79216d
Revises: 4e4c121cfbd4
Create Date: 2026-11-24 07:15:50.411640+00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "8a6d8a79216d"
down_revision: str | Sequence[str] | None = "4e4c121cfbd4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index(
        "ix_fulfillment_order_location_created_at",
        "fulfillment_order",
        ["location_code", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_fulfillment_order_location_created_at", table_name="fulfillment_order")
