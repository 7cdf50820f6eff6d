"""Use cases of returns, one module per area; each takes a command and an open unit of
work. The bus dispatches by command type."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from services.returns.domain import commands
from services.returns.service_layer.handlers import orders, policy, returns

# The order projection's updates: each writes its own order's row and nothing else, so a
# consumer's batch of them may share a transaction (libs.bus.message_bus.MessageBus). The
# others lock returns too, in an order the API's writers do not share.
BATCHABLE = frozenset({commands.ProjectPlacedOrder, commands.UpdateOrderContact})

HANDLERS: dict[type, Handler] = {
    commands.ProjectPlacedOrder: orders.project_placed_order,
    commands.UpdateOrderContact: orders.update_order_contact,
    commands.RecordShipment: orders.record_shipment,
    commands.OpenReturn: returns.open_return_,
    commands.ReviewReturn: returns.review_return,
    commands.DropOffReturn: returns.drop_off,
    commands.ReceiveReturn: returns.receive,
    commands.RecordRefundOutcome: returns.record_refund_outcome,
    commands.RecordExchangeOrder: returns.record_exchange_order,
    commands.RetryRefunds: returns.retry_refunds,
    commands.PutPolicy: policy.put_policy,
}
