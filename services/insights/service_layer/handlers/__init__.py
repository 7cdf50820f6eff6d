"""Use cases of insights, one module per area; each takes a command and an open unit of work.
The bus dispatches by command type."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from services.insights.domain.commands import RecordFacts
from services.insights.service_layer.handlers import projection

# The consumed events whose handlers may share a consumer batch's transaction
# (libs.bus.message_bus.MessageBus): every fact is an upsert under its own key. An order's row
# is upserted from four topics, so two processes' batches can wait on each other, and in the
# worst case deadlock; PostgreSQL breaks it, and the consumer runs that batch again record by
# record (a deadlock is transient to it). Batched, the consumer spent 1.9 ms of CPU an event
# against 3.6 one by one (300 orders of six events each, docs/insights.md).
BATCHABLE: frozenset[type] = frozenset({RecordFacts})


def handlers() -> dict[type, Handler]:
    return {RecordFacts: projection.record_facts}
