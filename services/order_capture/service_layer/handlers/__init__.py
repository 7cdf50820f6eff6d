"""Use cases of order-capture, one module per area: each takes a command and an open unit of
work (service_layer.unit_of_work.UnitOfWork)."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from services.order_capture.domain import commands
from services.order_capture.service_layer.handlers.orders import (
    cancel_order,
    cancel_own_order,
    change_priority,
    edit_order,
    place_order,
)
from services.order_capture.service_layer.handlers.reports import RECORDERS, record_report

# The consumed reports: each locks its own order (and then its lines) and nothing else, so a
# consumer's batch of them may share a transaction (libs.bus.message_bus.MessageBus).
BATCHABLE = frozenset(RECORDERS)

HANDLERS: dict[type, Handler] = {
    commands.PlaceOrder: place_order,
    commands.EditOrder: edit_order,
    commands.ChangePriority: change_priority,
    commands.CancelOrder: cancel_order,
    commands.CancelOwnOrder: cancel_own_order,
    **dict.fromkeys(RECORDERS, record_report),
}
