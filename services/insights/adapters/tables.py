from __future__ import annotations

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import audit_table, idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
    audit=audit_table(metadata),
)
