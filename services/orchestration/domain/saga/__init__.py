"""The order saga: one order's way from placement to completion, and every compensation.

The saga holds what it has asked for and what it was told; each answer moves it on and
queues what comes next (commands to inventory, payment operations, events) in the same
transaction as its new state. Answers that are stale (an earlier round) or repeated change
nothing, which is what makes redelivery and a crash-and-restart harmless.
"""

from services.orchestration.domain.saga.compensation import CompensationFlow
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.events import line_quantities
from services.orchestration.domain.saga.payments import PaymentFlow
from services.orchestration.domain.saga.reservations import ReservationFlow
from services.orchestration.domain.saga.state import (
    FINISHED,
    ZERO,
    DeclinePolicy,
    Held,
    InFlight,
    Payment,
    SagaPolicy,
    SagaState,
    SagaStep,
)

__all__ = [
    "FINISHED",
    "ZERO",
    "CompensationFlow",
    "DeclinePolicy",
    "Held",
    "InFlight",
    "OrderSaga",
    "Payment",
    "PaymentFlow",
    "ReservationFlow",
    "SagaCore",
    "SagaPolicy",
    "SagaState",
    "SagaStep",
    "line_quantities",
]


class OrderSaga(ReservationFlow, PaymentFlow, CompensationFlow):
    """One order's saga: its data and shared steps (SagaCore), put together with the flows that
    answer routing and inventory (ReservationFlow), the payment provider (PaymentFlow), and
    fulfilment reports, cancellations, edits and overdue waits (CompensationFlow)."""
