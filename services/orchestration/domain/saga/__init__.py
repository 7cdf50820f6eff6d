"""The order saga: one order's way from placement to completion, and every compensation.

The saga holds what it has asked for and what it was told; each answer moves it on and
queues what comes next (commands to inventory, payment operations, events) in the same
transaction as its new state. Answers that are stale (an earlier round) or repeated change
nothing, which is what makes redelivery and a crash-and-restart harmless.
"""

from services.orchestration.domain.saga.compensation import CompensationFlow
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.delays import DelayFlow
from services.orchestration.domain.saga.events import line_quantities
from services.orchestration.domain.saga.holds import HoldFlow
from services.orchestration.domain.saga.payments import PaymentFlow
from services.orchestration.domain.saga.reservations import ReservationFlow
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

__all__ = [
    "FINISHED",
    "HOLD_WAYS_OUT",
    "ZERO",
    "CompensationFlow",
    "DeclinePolicy",
    "DelayFlow",
    "DispatchPromise",
    "Held",
    "Hold",
    "HoldFlow",
    "HoldReason",
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


class OrderSaga(ReservationFlow, PaymentFlow, CompensationFlow, HoldFlow, DelayFlow):
    """One order's saga: its data and shared steps (SagaCore), put together with the flows that
    answer routing and inventory (ReservationFlow), the payment provider (PaymentFlow),
    fulfilment reports, cancellations, edits and overdue waits (CompensationFlow), the
    holds a person puts on and takes off (HoldFlow), and delays (DelayFlow)."""
