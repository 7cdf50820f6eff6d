"""The order saga: one order's way from placement to completion, and every compensation.

The saga holds what it has asked for and what it was told; each answer moves it on and
queues what comes next (commands to inventory, payment operations, events) in the same
transaction as its new state. Answers that are stale (an earlier round) or repeated change
nothing, which is what makes redelivery and a crash-and-restart harmless.

Read it in steps.py: the step table it runs on, top to bottom. The steps are implemented in
routing.py (route, wait for stock), reservations.py (reserve, wait for incoming stock),
payments.py (authorize, and the money after it), fulfilment.py (fulfil), compensation.py
(cancellations, address changes, failed fulfilments), holds.py and delays.py; core.py holds
the saga's data and the machinery they share. The replies (ROUTING_DECIDED, PAYMENT_ANSWERED,
...) are declared there too: the service layer hands each answer to the saga through the table,
ORDER_SAGA.take(saga, REPLY, ...).
"""

from services.orchestration.domain.saga.compensation import CompensationSteps
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.delays import DelaySteps
from services.orchestration.domain.saga.fulfilment import FulfilmentSteps
from services.orchestration.domain.saga.holds import HoldSteps
from services.orchestration.domain.saga.parts import line_quantities
from services.orchestration.domain.saga.payments import PaymentSteps
from services.orchestration.domain.saga.reservations import ReservationSteps
from services.orchestration.domain.saga.routing import RoutingSteps
from services.orchestration.domain.saga.state import (
    FINISHED,
    HOLD_WAYS_OUT,
    ZERO,
    DeclinePolicy,
    DispatchPromise,
    Held,
    Hold,
    HoldReason,
    InFlight,
    Payment,
    SagaPolicy,
    SagaState,
    SagaStep,
)
from services.orchestration.domain.saga.steps import (
    APPROVED_IN_REVIEW,
    BACKORDER_ALLOCATED,
    BACKORDER_REPROMISED,
    FULFILLMENT_ACCEPTED,
    FULFILLMENT_LEFT,
    FULFILLMENT_REJECTED,
    FULFILLMENT_SHORT_PICKED,
    NEW_PAYMENT_METHOD,
    ORDER_SAGA,
    PAYMENT_ANSWERED,
    REFUND_REQUESTED,
    REJECTED_IN_REVIEW,
    RELEASED,
    RESERVATION_CONFIRMED,
    RESERVATION_REJECTED,
    ROUTING_DECIDED,
    ROUTING_UNAVAILABLE,
)

__all__ = [
    "APPROVED_IN_REVIEW",
    "BACKORDER_ALLOCATED",
    "BACKORDER_REPROMISED",
    "FINISHED",
    "FULFILLMENT_ACCEPTED",
    "FULFILLMENT_LEFT",
    "FULFILLMENT_REJECTED",
    "FULFILLMENT_SHORT_PICKED",
    "HOLD_WAYS_OUT",
    "NEW_PAYMENT_METHOD",
    "ORDER_SAGA",
    "PAYMENT_ANSWERED",
    "REFUND_REQUESTED",
    "REJECTED_IN_REVIEW",
    "RELEASED",
    "RESERVATION_CONFIRMED",
    "RESERVATION_REJECTED",
    "ROUTING_DECIDED",
    "ROUTING_UNAVAILABLE",
    "ZERO",
    "CompensationSteps",
    "DeclinePolicy",
    "DelaySteps",
    "DispatchPromise",
    "FulfilmentSteps",
    "Held",
    "Hold",
    "HoldReason",
    "HoldSteps",
    "InFlight",
    "OrderSaga",
    "Payment",
    "PaymentSteps",
    "ReservationSteps",
    "RoutingSteps",
    "SagaCore",
    "SagaPolicy",
    "SagaState",
    "SagaStep",
    "line_quantities",
]


class OrderSaga(
    RoutingSteps,
    ReservationSteps,
    PaymentSteps,
    FulfilmentSteps,
    CompensationSteps,
    HoldSteps,
    DelaySteps,
):
    """One order's saga: its data and shared machinery (SagaCore), the steps' implementations,
    and the step table it runs on (steps.ORDER_SAGA)."""

    definition = ORDER_SAGA
