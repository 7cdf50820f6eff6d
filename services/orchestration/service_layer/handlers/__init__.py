"""Use cases of orchestration: each takes a command and an open unit of work."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from services.orchestration.domain import commands
from services.orchestration.service_layer.handlers import fulfillments, sagas, view


def build_handlers() -> dict[type, Handler]:
    return {
        commands.StartSaga: sagas.start_saga,
        commands.RouteSaga: sagas.route_saga,
        commands.RecordReservation: sagas.record_reservation,
        commands.RecordBackorderAllocation: sagas.record_backorder_allocation,
        commands.RecordBackorderRepromise: sagas.record_backorder_repromise,
        commands.CancelUnits: sagas.cancel_units,
        commands.ChangeDelivery: sagas.change_delivery,
        commands.ChangePriority: sagas.change_priority,
        commands.RequestRefund: sagas.request_refund,
        commands.RecordPaymentAnswer: sagas.record_payment_answer,
        commands.KeepPaymentToken: sagas.keep_payment_token,
        commands.SweepOverdue: sagas.sweep_overdue,
        commands.ActOnFulfillment: fulfillments.act,
        commands.PutStrategy: sagas.put_strategy,
        commands.ActOnOrder: sagas.act_on_order,
        commands.PutReviewRules: sagas.put_review_rules,
        commands.PutCarrierRates: sagas.put_carrier_rates,
        commands.ProjectLocation: view.project_location,
        commands.ProjectStock: view.project_stock,
        commands.ProjectIncoming: view.project_incoming,
    }


# What the consumer hands over: each locks its own order's saga (and then its fulfilment
# orders), or writes the view of inventory or its own order's payment token, and nothing else,
# so a consumer's batch of them may share a transaction (libs.bus.message_bus.MessageBus). A
# placed order's routing reads the view in that transaction, after the batch's projections
# before it.
BATCHABLE = frozenset(
    {
        commands.StartSaga,
        commands.RecordReservation,
        commands.RecordBackorderAllocation,
        commands.CancelUnits,
        commands.ChangeDelivery,
        commands.RequestRefund,
        commands.KeepPaymentToken,
        commands.ProjectLocation,
        commands.ProjectStock,
        commands.ProjectIncoming,
    }
)
