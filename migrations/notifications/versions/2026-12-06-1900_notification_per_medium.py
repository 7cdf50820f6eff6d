"""A notification once per medium: the ledger's unique key takes the medium, so the e-mail and
the SMS of one business fact are a row each.

Revision ID: 5e2b7c0d9f13
Revises: a9a8971646f2
Create Date: 2026-12-06 19:00:00+00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5e2b7c0d9f13"
down_revision: str | Sequence[str] | None = "a9a8971646f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # Every row so far is an e-mail: the wider key holds them all as they are.
    op.create_unique_constraint(
        op.f("uq_notification_order_id_kind_business_key_medium"),
        "notification",
        ["order_id", "kind", "business_key", "medium"],
    )
    op.drop_constraint(
        op.f("uq_notification_order_id_kind_business_key"), "notification", type_="unique"
    )


def downgrade() -> None:
    """Downgrade schema."""
    # The narrower key cannot hold an e-mail and an SMS of one fact: the SMS go first.
    op.execute("DELETE FROM notification WHERE medium <> 'email'")
    op.create_unique_constraint(
        op.f("uq_notification_order_id_kind_business_key"),
        "notification",
        ["order_id", "kind", "business_key"],
    )
    op.drop_constraint(
        op.f("uq_notification_order_id_kind_business_key_medium"), "notification", type_="unique"
    )
