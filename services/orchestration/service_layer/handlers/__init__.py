"""Use cases of orchestration: each takes a command and an open unit of work."""

from __future__ import annotations

from functools import partial

from libs.bus.message_bus import Handler
from services.orchestration.domain import commands
from services.orchestration.domain.saga import SagaPolicy
from services.orchestration.service_layer.handlers import fulfillments, sagas


def build_handlers(policy: SagaPolicy) -> dict[type, Handler]:
    return {
        commands.StartSaga: sagas.start_saga,
        commands.ApplyRouting: sagas.apply_routing,
        commands.PostponeRouting: sagas.postpone_routing,
        commands.RecordReservation: partial(sagas.record_reservation, policy=policy),
        commands.RecordBackorderAllocation: sagas.record_backorder_allocation,
        commands.CancelUnits: sagas.cancel_units,
        commands.ChangeDelivery: sagas.change_delivery,
        commands.RequestRefund: sagas.request_refund,
        commands.RecordPaymentAnswer: partial(sagas.record_payment_answer, policy=policy),
        commands.ActOnFulfillment: fulfillments.act,
        commands.PutStrategy: sagas.put_strategy,
    }
