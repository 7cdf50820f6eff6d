"""Did every order go through the system exactly once? Counted in the services' own databases
(the honest record: an event can be published twice and handled once, but a second reservation,
authorisation or fulfilment order is a row) and on the run's dead-letter topics.

    tally = await tally_orders(order_ids, refs=channel_order_refs)
    assert not tally.not_exactly_once()
    ends = await dead_letter_ends()          # before the load
    ...
    assert await dead_letters_since(ends) == {}

Shared by the replica test (tests/e2e/test_replicas.py) and the chaos suite (tests/chaos, on
databases of its own: `databases=` maps a service to its database URL); meant for any test that
places many orders through faults and must show none was lost or doubled.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from libs.db.engine import make_engine
from libs.messaging.topics import TOPICS, dlq_of
from tests.support.environment import BOOTSTRAP_SERVERS, TOPIC_PREFIX, database_url_for

# Per order id: its reservations (inventory), card authorisations asked for and succeeded
# (orchestration's payment operations) and fulfilment orders (orchestration). Each must be
# exactly one for an order of one line placed with stock at one location and paid by card.
RESERVATIONS = (
    "SELECT order_id::text, count(*) FROM reservation WHERE order_id = ANY(:ids) GROUP BY 1"
)
AUTHORISATIONS = (
    "SELECT order_id::text, count(*), count(*) FILTER (WHERE status = 'succeeded')"
    " FROM payment_operation WHERE kind = 'authorize' AND order_id = ANY(:ids) GROUP BY 1"
)
FULFILMENTS = (
    "SELECT order_id::text, count(*) FROM fulfillment_order WHERE order_id = ANY(:ids) GROUP BY 1"
)
# Per channel order reference: how many orders order-capture made of it (a retried request
# with its Idempotency-Key must not make a second).
PLACED = (
    "SELECT channel_order_ref, count(*) FROM sales_order"
    " WHERE channel_order_ref = ANY(:refs) GROUP BY 1"
)
IN_STATUS = "SELECT id::text FROM sales_order WHERE id = ANY(:ids) AND status = :status"


async def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of one read in the database at `url`."""
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]
    finally:
        await engine.dispose()


def _uuids(ids: Iterable[str]) -> list[uuid.UUID]:
    return [uuid.UUID(i) for i in ids]


@dataclass(frozen=True)
class Tally:
    """How often each order (by id) and each placement (by channel order reference) happened."""

    order_ids: tuple[str, ...]
    refs: tuple[str, ...]
    placed: Counter[str] = field(default_factory=Counter)
    reservations: Counter[str] = field(default_factory=Counter)
    authorisations: Counter[str] = field(default_factory=Counter)
    authorised: Counter[str] = field(default_factory=Counter)
    fulfilments: Counter[str] = field(default_factory=Counter)

    def not_exactly_once(self) -> dict[str, dict[str, int]]:
        """Every order or reference whose count of some step is not exactly one, with all its
        counts: empty when each was placed, reserved, authorised and routed once."""
        wrong: dict[str, dict[str, int]] = {}
        for ref in self.refs:
            if self.placed[ref] != 1:
                wrong[ref] = {"placed": self.placed[ref]}
        for order_id in self.order_ids:
            counts = {
                "reservations": self.reservations[order_id],
                "authorisations": self.authorisations[order_id],
                "authorised": self.authorised[order_id],
                "fulfilments": self.fulfilments[order_id],
            }
            if set(counts.values()) != {1}:
                wrong[order_id] = counts
        return wrong


def test_databases() -> dict[str, str]:
    """The run's test database of each service this module reads."""
    return {s: database_url_for(s) for s in ("order_capture", "inventory", "orchestration")}


async def tally_orders(
    order_ids: Sequence[str],
    *,
    refs: Sequence[str] = (),
    databases: Mapping[str, str] | None = None,
) -> Tally:
    """Count, in the services' databases (the run's test databases unless `databases` maps a
    service to another's URL), each step of these orders (and placements of refs)."""
    db = databases or test_databases()
    ids = _uuids(order_ids)
    inventory = await query(db["inventory"], RESERVATIONS, ids=ids)
    authorised = await query(db["orchestration"], AUTHORISATIONS, ids=ids)
    routed = await query(db["orchestration"], FULFILMENTS, ids=ids)
    placed = await query(db["order_capture"], PLACED, refs=list(refs)) if refs else []
    return Tally(
        order_ids=tuple(order_ids),
        refs=tuple(refs),
        placed=Counter({ref: n for ref, n in placed}),
        reservations=Counter({order_id: n for order_id, n in inventory}),
        authorisations=Counter({order_id: n for order_id, n, _ in authorised}),
        authorised=Counter({order_id: n for order_id, _, n in authorised}),
        fulfilments=Counter({order_id: n for order_id, n in routed}),
    )


async def orders_in_status(order_ids: Sequence[str], status: str) -> set[str]:
    """Which of these orders order-capture shows in `status` now."""
    url = database_url_for("order_capture")
    rows = await query(url, IN_STATUS, ids=_uuids(order_ids), status=status)
    return {order_id for (order_id,) in rows}


async def dead_letter_ends(prefix: str = TOPIC_PREFIX) -> dict[str, int]:
    """How many records each of the run's dead-letter topics holds (its partitions' end
    offsets summed); take it before a load and compare after with dead_letters_since."""
    topics = [prefix + dlq_of(spec.name) for spec in TOPICS]
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP_SERVERS, enable_auto_commit=False)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()  # fresh: every topic known
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(cluster.partitions_for_topic(topic) or [])
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        totals = dict.fromkeys(topics, 0)
        for tp, end in ends.items():
            totals[tp.topic] += end
        return totals
    finally:
        await consumer.stop()


async def dead_letters_since(before: dict[str, int], prefix: str = TOPIC_PREFIX) -> dict[str, int]:
    """The dead-letter topics that got records since `before` (dead_letter_ends), and how
    many: empty when none did."""
    now = await dead_letter_ends(prefix)
    return {topic: n - before.get(topic, 0) for topic, n in now.items() if n > before.get(topic, 0)}
