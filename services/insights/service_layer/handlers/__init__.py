"""Use cases of insights, one module per area; each takes a command and an open unit of work.
The bus dispatches by command type."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from services.insights.domain.commands import RecordFacts
from services.insights.service_layer.handlers import projection

# The consumed events whose handlers write nothing another record's handler locks: a consumer's
# batch of them may share a transaction (libs.bus.message_bus.MessageBus). None here: an order's
# events come from four topics, and their upserts of its row in one batch of one process and
# another's would wait on each other.
BATCHABLE: frozenset[type] = frozenset()


def handlers() -> dict[type, Handler]:
    return {RecordFacts: projection.record_facts}
