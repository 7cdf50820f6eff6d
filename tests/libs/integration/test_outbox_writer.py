"""The outbox writer: every event of a unit of work, and its audit row, in one statement."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, select

from libs.clock import SystemClock
from libs.contracts.base import OrderEvent
from libs.outbox.writer import OutboxWriter
from tests.libs.integration.conftest import LibDb


class Noted(OrderEvent):
    event_type = "libtest.noted"
    topic = "libtest.notes"
    sku: str = ""
    note: str = ""


# Text an array literal or a JSON document must carry unharmed.
AWKWARD = ["plain", 'comma, brace {} and "quotes"', 'back\\slash \\" mixed', "", "NULL", "ü € 🚚"]


@pytest.fixture
async def order_id(lib_db: LibDb) -> AsyncIterator[str]:
    """A key whose outbox rows are removed afterwards: the relay tests publish every row of
    the shared outbox, and these rows' topic does not exist."""
    key = str(uuid.uuid4())
    yield key
    async with lib_db.sessions() as session, session.begin():
        await session.execute(delete(lib_db.outbox).where(lib_db.outbox.c.key == key))


async def test_events_and_their_audit_rows_are_written_in_order_with_any_text(
    lib_db: LibDb, order_id: str
) -> None:
    writer = OutboxWriter(
        table=lib_db.outbox, service="libtest", clock=SystemClock(), audit_table=lib_db.audit
    )
    events = [
        Noted(order_id=order_id, sku=text, note=f"{i}: {text}") for i, text in enumerate(AWKWARD)
    ]
    async with lib_db.sessions() as session, session.begin():
        await writer.write(session, events)

    async with lib_db.sessions() as session:
        outbox = (
            await session.execute(
                select(lib_db.outbox)
                .where(lib_db.outbox.c.key == order_id)
                .order_by(lib_db.outbox.c.seq)
            )
        ).all()
        audit = (
            await session.execute(
                select(lib_db.audit)
                .where(lib_db.audit.c.event_id.in_([row.id for row in outbox]))
                .order_by(lib_db.audit.c.seq)
            )
        ).all()
    # In the order raised: the relay publishes by seq, and a key's events must keep theirs.
    assert [row.payload["data"]["note"] for row in outbox] == [e.note for e in events]
    assert {row.event_type for row in outbox} == {"libtest.noted"}
    assert [row.schema_version for row in outbox] == [1] * len(events)
    assert [row.headers["correlation-id"] for row in outbox] == [
        row.payload["correlationid"] for row in outbox
    ]
    assert [row.event_id for row in audit] == [row.id for row in outbox]
    expected = [
        [f"order:{order_id}", f"sku:{text}"] if text else [f"order:{order_id}"] for text in AWKWARD
    ]
    assert [row.resources for row in audit] == expected


async def test_a_writer_without_an_audit_table_writes_the_outbox_alone(
    lib_db: LibDb, order_id: str
) -> None:
    writer = OutboxWriter(table=lib_db.outbox, service="libtest", clock=SystemClock())
    async with lib_db.sessions() as session, session.begin():
        await writer.write(session, [Noted(order_id=order_id, note="alone")])
        await writer.write(session, [])

    async with lib_db.sessions() as session:
        notes = (
            (
                await session.execute(
                    select(lib_db.outbox.c.payload).where(lib_db.outbox.c.key == order_id)
                )
            )
            .scalars()
            .all()
        )
    assert [payload["data"]["note"] for payload in notes] == ["alone"]


async def test_rows_written_on_the_driver_roll_back_with_the_session(
    lib_db: LibDb, order_id: str
) -> None:
    """The writer runs on the driver's connection (libs.db.driver): its rows must belong to
    the session's transaction even when they are its first statement."""
    writer = OutboxWriter(table=lib_db.outbox, service="libtest", clock=SystemClock())
    async with lib_db.sessions() as session, session.begin():
        await writer.write(session, [Noted(order_id=order_id, note="first statement")])
        await session.rollback()
    async with lib_db.sessions() as session:
        found = (
            await session.execute(select(lib_db.outbox.c.id).where(lib_db.outbox.c.key == order_id))
        ).all()
    assert found == []
