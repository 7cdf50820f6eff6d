"""Use cases of insights, one module per area; each takes a command and an open unit of work.
The bus dispatches by command type."""

from __future__ import annotations

from libs.bus.message_bus import Handler

# The consumed events whose handlers write nothing another record's handler locks: a consumer's
# batch of them may share a transaction (libs.bus.message_bus.MessageBus).
BATCHABLE: frozenset[type] = frozenset()


def handlers() -> dict[type, Handler]:
    return {}
