"""The order saga, step by step: what each step does, what it waits for and how long, what
undoes it, and what a failure does. The saga runs on this table (SagaCore):

- moving on: after a reservation the saga runs the steps' actions in this order from "wait
  for incoming stock" (after an authorisation, from "authorize") until one waits;
- waiting: entering a step's state sets the step's due time and deadline;
- an expired deadline: the overdue sweep does what the step it is at says;
- cancelling: every step's compensation takes back what it can, in this order (least
  advanced first), then what only a reply still to come will tell.

Replies are the constants below, each naming the saga's method that takes it; the steps list
the ones they wait for. The service layer hands every answer to the saga through the table,
`ORDER_SAGA.take(saga, RESERVATION_CONFIRMED, reservation_id, lines, now)`: it calls the
declared method with arguments mypy checks against it, returns what the method returns, and
refuses a reply no step lists. A reply that comes when the saga is not at a step that lists it
(late, or delivered again) is still handed to the method, which knows what it means (mostly:
nothing).

Besides replies, at any step before fulfilment a person may hold the order (holds.py), and at
any step the customer may cancel units (the compensations below) or change the address
(compensation.py: what is not picked yet is planned again); promised dispatches that pass are
told as delays (delays.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.orchestration.domain.saga.compensation import CompensationSteps
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.definition import (
    Action,
    Awaited,
    Compensation,
    Deadline,
    Reply,
    SagaDefinition,
    Step,
)
from services.orchestration.domain.saga.delays import DelaySteps
from services.orchestration.domain.saga.fulfilment import FulfilmentSteps
from services.orchestration.domain.saga.holds import HoldSteps
from services.orchestration.domain.saga.payments import PaymentSteps
from services.orchestration.domain.saga.reservations import ReservationSteps
from services.orchestration.domain.saga.routing import RoutingSteps
from services.orchestration.domain.saga.state import SagaState

if TYPE_CHECKING:
    from services.orchestration.domain.saga import OrderSaga


def _now(saga: OrderSaga, now: datetime) -> datetime:
    return now


def _recheck(saga: OrderSaga, now: datetime) -> datetime:
    return now + saga.policy.waiting_recheck


def _waiting_max(saga: OrderSaga, now: datetime) -> datetime:
    return now + saga.policy.waiting_max


def _reservation_timeout(saga: OrderSaga, now: datetime) -> datetime:
    return now + saga.policy.reservation_timeout


def _acceptance(saga: OrderSaga, now: datetime) -> datetime | None:
    return saga.acceptance_deadline()


# The replies: who answers, and the saga's method that takes the answer. A reply is one
# identity wherever the table lists it (the routing decision at route and at wait for stock).
ROUTING_DECIDED = Reply("the worker's routing decision", RoutingSteps.apply_routing)
ROUTING_UNAVAILABLE = Reply("inventory's view could not be read", RoutingSteps.routing_unavailable)
RESERVATION_CONFIRMED = Reply(
    "inventory.reservation_confirmed", ReservationSteps.reservation_confirmed
)
RESERVATION_REJECTED = Reply(
    "inventory.reservation_rejected", ReservationSteps.reservation_rejected
)
BACKORDER_ALLOCATED = Reply("inventory.backorder_allocated", ReservationSteps.backorder_allocated)
BACKORDER_REPROMISED = Reply("inventory.backorder_repromised", DelaySteps.backorder_repromised)
PAYMENT_ANSWERED = Reply("the provider answered a payment operation", PaymentSteps.payment_answered)
FULFILLMENT_ACCEPTED = Reply("the location accepted", FulfilmentSteps.fulfillment_accepted)
FULFILLMENT_LEFT = Reply("the units left (shipped or collected)", FulfilmentSteps.fulfillment_left)
FULFILLMENT_REJECTED = Reply("the location rejected", CompensationSteps.fulfillment_rejected)
FULFILLMENT_SHORT_PICKED = Reply(
    "the location short-picked", CompensationSteps.fulfillment_gave_back
)
REFUND_REQUESTED = Reply("a refund request (returns)", PaymentSteps.request_refund)
RELEASED = Reply("a person releases the hold", HoldSteps.release)
APPROVED_IN_REVIEW = Reply("a person approves in review", HoldSteps.approve)
NEW_PAYMENT_METHOD = Reply(
    "a new payment method (held for a declined payment)", PaymentSteps.new_payment_method
)
REJECTED_IN_REVIEW = Reply("a person rejects in review", HoldSteps.reject)

# Fulfilment orders handed out in an earlier round may still wait to be accepted while the
# saga is at a later round's step: their lateness is checked there too.
_EARLIER_FULFILMENTS = "none of its own; fulfilment orders of an earlier round that are not "
_EARLIER_FULFILMENTS += "accepted in time are rejected for it (as in fulfil)"


ORDER_SAGA: SagaDefinition[OrderSaga] = SagaDefinition(
    Step(
        name="route",
        state=SagaState.ROUTING,
        action=Action(
            "the worker plans the unrouted units with fresh availability: routing_decided, "
            "then inventory.reserve_stock for the chosen locations"
        ),
        replies=(
            Awaited(ROUTING_DECIDED, "routed or backordered: reserve; unroutable: wait for stock"),
            Awaited(
                ROUTING_UNAVAILABLE,
                "planned again at the retry time; the order is not failed for it",
                failure=True,
            ),
        ),
        deadline=Deadline(
            "planned at once (due now); " + _EARLIER_FULFILMENTS,
            due=_now,
            on_expiry=CompensationSteps._acceptance_overdue,
        ),
        compensation=Compensation(
            "cancelled units not routed yet are dropped", now=RoutingSteps._drop_unrouted
        ),
    ),
    Step(
        name="wait for stock",
        state=SagaState.WAITING_FOR_STOCK,
        action=Action(
            "no location can serve the units (routing_decided: unroutable): they wait, planned "
            "again when stock, a location or the strategy changes"
        ),
        replies=(
            Awaited(
                ROUTING_DECIDED,
                "served now: reserve; still unroutable: keep waiting (nothing is announced)",
            ),
        ),
        deadline=Deadline(
            "planned again every policy.waiting_recheck; after policy.waiting_max held "
            "unroutable (backorder_lapsed for units of a lapsed backorder): order_on_hold",
            at=_waiting_max,
            due=_recheck,
            on_expiry=RoutingSteps._waiting_overdue,
        ),
    ),
    Step(
        name="reserve",
        state=SagaState.RESERVING,
        action=Action("inventory.reserve_stock is out (the route step sent it)"),
        replies=(
            Awaited(
                RESERVATION_CONFIRMED,
                "order_routed; cancellations and re-plans that came meanwhile apply; then "
                "on to the wait for incoming stock",
            ),
            Awaited(
                RESERVATION_REJECTED,
                "planned again (route); after policy.max_replans rejections in a row, wait "
                "for stock",
                failure=True,
            ),
        ),
        deadline=Deadline(
            "policy.reservation_timeout: the reservation is released "
            "(inventory.release_reservation) and taken as rejected",
            at=_reservation_timeout,
            on_expiry=ReservationSteps._reservation_overdue,
        ),
        compensation=Compensation(
            "held units are released (inventory.release_reservation, cancelled); units of "
            "the reservation in flight are released when inventory answers",
            now=SagaCore._cancel_held,
            later=ReservationSteps._cancel_in_flight,
        ),
    ),
    Step(
        name="wait for incoming stock",
        state=SagaState.BACKORDERED,
        action=Action(
            "order_backordered: units reserved from incoming stock, promised to leave from "
            "the day it is expected; nothing backordered: on at once",
            run=ReservationSteps._wait_for_backorders,
        ),
        replies=(
            Awaited(BACKORDER_ALLOCATED, "once no unit waits: on to authorize"),
            Awaited(
                BACKORDER_REPROMISED,
                "a later date: order_delayed; lapsed units: order_delayed and routed again",
                failure=True,
            ),
        ),
        deadline=Deadline(_EARLIER_FULFILMENTS, on_expiry=CompensationSteps._acceptance_overdue),
        compensation=Compensation(
            "backordered units are held units: the reserve step releases them"
        ),
    ),
    Step(
        name="authorize",
        state=SagaState.AUTHORIZING,
        action=Action(
            "the order's total is authorised once, before any unit is handed to a location "
            "(a payment operation the worker runs); nothing to pay: on at once",
            run=PaymentSteps._authorize,
        ),
        replies=(
            Awaited(
                PAYMENT_ANSWERED,
                "payment_authorized; on to fulfil",
                case="the provider approved the authorisation",
            ),
            Awaited(
                PAYMENT_ANSWERED,
                "payment_declined; by policy.on_decline held payment_declined (its stock "
                "released, a new payment method awaited) or cancelled",
                failure=True,
                case="the provider declined the authorisation",
            ),
        ),
        deadline=Deadline(_EARLIER_FULFILMENTS, on_expiry=CompensationSteps._acceptance_overdue),
        compensation=Compensation(
            "what was authorised and will not be captured is voided (payment_voided): the "
            "complete step does it once nothing is left to ship"
        ),
    ),
    Step(
        name="fulfil",
        state=SagaState.FULFILLING,
        action=Action(
            "fulfillment_created: one fulfilment order per location for the units ready, "
            "each promised to leave by its ship date",
            run=FulfilmentSteps._fulfil,
        ),
        replies=(
            Awaited(FULFILLMENT_ACCEPTED, "fulfillment_accepted; the acceptance deadline moves on"),
            Awaited(
                FULFILLMENT_LEFT,
                "inventory.commit_reservation; their share of the money is captured",
            ),
            Awaited(
                PAYMENT_ANSWERED,
                "payment_captured (a failed capture is noted)",
                case="the provider answered a capture",
            ),
            Awaited(
                FULFILLMENT_REJECTED,
                "fulfillment_rejected; its units released there and routed elsewhere, never "
                "to that location again",
                failure=True,
            ),
            Awaited(
                FULFILLMENT_SHORT_PICKED,
                "the missing units released there and routed elsewhere",
                failure=True,
            ),
        ),
        deadline=Deadline(
            "policy.acceptance_timeout from the oldest fulfilment order not accepted: it is "
            "rejected for lateness and its units routed elsewhere",
            at=_acceptance,
            on_expiry=CompensationSteps._acceptance_overdue,
        ),
        compensation=Compensation(
            "unshipped fulfilment orders give cancelled units back, the least advanced first "
            "(fulfillment_cancelled, inventory.release_reservation)",
            now=CompensationSteps._withdraw_cancelled,
        ),
    ),
    Step(
        name="complete",
        state=SagaState.COMPLETED,
        action=Action(
            "units left unrouted go back to route; otherwise, once no unit waits or moves "
            "and every payment call is answered, what will not be captured is voided and "
            "the order is completed (order_completed; cancelled when nothing shipped)",
            run=SagaCore._settle,
        ),
        replies=(
            Awaited(
                PAYMENT_ANSWERED,
                "payment_voided; the order ends",
                case="the provider answered a void",
            ),
            Awaited(
                REFUND_REQUESTED,
                "refunded from what was captured (payment_refunded), or refused "
                "(payment_refund_failed)",
            ),
        ),
    ),
    Step(
        name="on hold",
        state=SagaState.ON_HOLD,
        action=Action(
            "order_on_hold: stopped before fulfilment, its held stock released; its units "
            "wait to be planned again"
        ),
        replies=(
            Awaited(RELEASED, "order_hold_released; planned again from where it stands (route)"),
            Awaited(
                APPROVED_IN_REVIEW,
                "order_hold_released (approved in review); planned again from where it stands "
                "(route)",
            ),
            Awaited(NEW_PAYMENT_METHOD, "released: reserved and authorised again"),
            Awaited(
                REJECTED_IN_REVIEW,
                "order_rejected: cancelled (order-capture cancels the order)",
                failure=True,
            ),
        ),
        deadline=Deadline(
            "a hold for a declined payment only: policy.payment_recovery (set by the "
            "decline), then payment_recovery_expired and cancelled",
            on_expiry=PaymentSteps._recovery_overdue,
        ),
    ),
    Step(
        name="cancelled",
        state=SagaState.CANCELLED,
        action=Action(
            "compensated: every unit cancelled, its stock released, money not captured voided"
        ),
    ),
)
