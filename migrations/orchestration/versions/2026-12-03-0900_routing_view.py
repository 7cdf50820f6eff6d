"""Orchestration's own view of the locations and their stock, projected from inventory's
events, so routing asks inventory nothing over HTTP: one row per location, one per location
and SKU that ever had stock or expected some.

Revision ID: 6b1f2d8c4a90
Revises: 3ee1678b7efb
Create Date: 2026-12-03 09:00:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6b1f2d8c4a90"
down_revision: str | Sequence[str] | None = "3ee1678b7efb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_location",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("capabilities", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=True),
        sa.Column("processing_days", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.Time(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_routing_location")),
    )
    op.create_table(
        "routing_stock",
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("location_code", sa.Text(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("incoming", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("sku", "location_code", name=op.f("pk_routing_stock")),
    )


def downgrade() -> None:
    op.drop_table("routing_stock")
    op.drop_table("routing_location")
