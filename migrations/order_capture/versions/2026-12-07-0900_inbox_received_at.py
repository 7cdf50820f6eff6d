"""An index on the inbox's received_at, for the retention job.

The job (libs.outbox.retention) deletes the inbox rows past INBOX_RETENTION_S a batch at a time;
without the index each batch, and each run that finds nothing, would read the whole inbox.

Built in the migration's transaction, which holds the inbox's inserts (the consumers) while
it builds. Where the inbox is large, create the index beforehand
without that lock, under the same name, and this revision leaves it be:
    CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_inbox_received_at ON inbox (received_at);

Revision ID: 535b53fc6156
Revises: 5a7e1c0d9b21
Create Date: 2026-12-07 09:00:00.000000+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "535b53fc6156"
down_revision: str | Sequence[str] | None = "5a7e1c0d9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_inbox_received_at", "inbox", ["received_at"], unique=False, if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_received_at", table_name="inbox")
