from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Table, Text, Uuid

from libs.bootstrap import PlumbingTables
from libs.db.metadata import make_metadata
from libs.outbox.tables import idempotency_table, inbox_table, outbox_table

metadata = make_metadata()

order_saga = Table(
    "order_saga",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("order_number", Text, nullable=False),
    Column("state", Text, nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

saga_step = Table(
    "saga_step",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "order_id",
        Uuid,
        ForeignKey("order_saga.order_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", Text, nullable=False),
)

plumbing = PlumbingTables(
    outbox=outbox_table(metadata),
    inbox=inbox_table(metadata),
    idempotency=idempotency_table(metadata),
)
