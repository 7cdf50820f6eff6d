"""The outbox gauges read at scrape time (libs.observability.metrics.outbox_families): the
real backlog and age, and a scrape that does not hang on a database that does not answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client.metrics_core import Metric
from sqlalchemy import insert

from libs.db.engine import make_engine
from libs.observability.metrics import outbox_families
from tests.libs.integration.conftest import LibDb


def gauges(families: list[Metric]) -> dict[str, float]:
    return {family.name: family.samples[0].value for family in families}


async def test_the_backlog_and_the_age_of_its_oldest_row_are_read_when_scraped(
    lib_db: LibDb,
) -> None:
    before = gauges(await outbox_families(lib_db.engine, lib_db.outbox))
    assert before["oms_outbox_query_success"] == 1
    async with lib_db.sessions() as s, s.begin():
        for _ in range(3):
            event_id = str(uuid.uuid4())
            await s.execute(
                insert(lib_db.outbox).values(
                    id=event_id,
                    topic="libtest.metrics",
                    key=event_id,
                    event_type="libtest.metered",
                    schema_version=1,
                    payload={},
                    created_at=datetime.now(UTC) - timedelta(seconds=60),
                )
            )

    after = gauges(await outbox_families(lib_db.engine, lib_db.outbox))

    assert after["oms_outbox_backlog"] == before["oms_outbox_backlog"] + 3
    if before["oms_outbox_backlog"] == 0:  # else an earlier row is the oldest
        assert 60 <= after["oms_outbox_oldest_age_seconds"] < 120
    else:
        assert after["oms_outbox_oldest_age_seconds"] > 0
    async with lib_db.sessions() as s, s.begin():
        await s.execute(
            lib_db.outbox.delete().where(lib_db.outbox.c.event_type == "libtest.metered")
        )


async def test_a_database_that_does_not_answer_costs_the_scrape_its_timeout_alone(
    lib_db: LibDb,
) -> None:
    # Accepts connections and never says a word: what a hung database looks like.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    engine = make_engine(f"postgresql+asyncpg://oms:oms@127.0.0.1:{port}/oms", pool_size=1)
    try:
        started = time.monotonic()
        families = await outbox_families(engine, lib_db.outbox, timeout_s=0.3)
        took = time.monotonic() - started
    finally:
        await engine.dispose()
        silent.close()
    assert gauges(families) == {"oms_outbox_query_success": 0}
    assert took < 2
