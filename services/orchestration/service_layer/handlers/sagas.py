"""The saga's use cases: start, routing, inventory's answers, payments, cancels, edits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from libs.observability.logging import get_logger
from services.orchestration.domain import commands
from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.errors import InvalidRateTable, SagaNotFound
from services.orchestration.domain.order import OrderSnapshot
from services.orchestration.domain.payments import OpStatus, ProviderResult, retry_delay_s
from services.orchestration.domain.review import OrderFacts, reasons_for_review
from services.orchestration.domain.routing.model import Method
from services.orchestration.domain.saga import (
    APPROVED_IN_REVIEW,
    BACKORDER_ALLOCATED,
    BACKORDER_REPROMISED,
    NEW_PAYMENT_METHOD,
    ORDER_SAGA,
    PAYMENT_ANSWERED,
    REFUND_REQUESTED,
    REJECTED_IN_REVIEW,
    RELEASED,
    RESERVATION_CONFIRMED,
    RESERVATION_REJECTED,
    HoldReason,
    OrderSaga,
    SagaState,
)
from services.orchestration.service_layer.handlers.routing import route_now
from services.orchestration.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def start_saga(cmd: commands.StartSaga, uow: UnitOfWork) -> None:
    """A placed order starts its saga, once whatever the redeliveries, and is routed in the
    same transaction from orchestration's view of inventory (service_layer.handlers.routing)."""
    if uow.sagas.holds(cmd.order_id):
        return  # a start delivered again, its saga locked by the batch: nothing new to say
    now = uow.clock.now()
    saga = OrderSaga.start(cmd.order_id, cmd.order, now, uow.sagas.policy)
    reasons = await _review_reasons(cmd, uow)
    if reasons:
        # Held before anything is reserved or charged, until a person approves or rejects.
        saga.put_on_hold(HoldReason.REVIEW, "; ".join(reasons), now)
    else:
        await route_now(saga, uow, now)
    uow.sagas.add(saga)  # dropped at commit if the order has one: nothing new to say then


async def _review_reasons(cmd: commands.StartSaga, uow: UnitOfWork) -> list[str]:
    """Why the review rules in force hold this order (none while every rule is off). The
    order counts in its customer's history whatever the rules, so that the new-customer rule
    knows the customers from the day it is switched on; the fraud and address checks are
    asked only when a rule needs them."""
    rules = await uow.review_rules()
    order = cmd.order
    new_customer = await uow.first_order(cmd)
    facts = OrderFacts(
        grand_total=order.grand_total,
        currency=order.currency,
        ship_to_country=order.ship_to.country,
        billing_country=order.extra.get("billing_country") or None,
        risk_score=await _risk_score(cmd, uow) if rules.max_risk_score is not None else None,
        new_customer=new_customer,
        address_problems=await _address_problems(order, uow)
        if rules.hold_invalid_addresses
        else (),
    )
    return reasons_for_review(facts, rules)


async def _risk_score(cmd: commands.StartSaga, uow: UnitOfWork) -> int | None:
    if uow.fraud_check is None:
        return None
    return await uow.fraud_check.score(
        order_id=str(cmd.order_id),
        customer_email=cmd.order.customer_email,
        grand_total=cmd.order.grand_total,
    )


async def _address_problems(order: OrderSnapshot, uow: UnitOfWork) -> tuple[str, ...]:
    """What the address check finds wrong with where the order ships (a pickup order ships
    nowhere: nothing)."""
    if uow.address_check is None or order.method is not Method.SHIP:
        return ()
    return tuple(await uow.address_check.problems(order.ship_to))


async def _locked(uow: UnitOfWork, order_id: UUID) -> OrderSaga:
    saga = await uow.sagas.get_for_update(order_id)
    if saga is None:
        raise SagaNotFound(f"no saga for order {order_id}")
    return saga


async def route_saga(cmd: commands.RouteSaga, uow: UnitOfWork) -> None:
    """The worker's: a saga due for another plan, planned under its lock."""
    saga = await _locked(uow, cmd.order_id)
    waiting = (SagaState.ROUTING, SagaState.WAITING_FOR_STOCK)
    if saga.state not in waiting or saga.round != cmd.expected_round:
        return  # planned meanwhile, or the order moved on
    await route_now(saga, uow, uow.clock.now())
    await uow.sagas.save(saga)


async def record_reservation(cmd: commands.RecordReservation, uow: UnitOfWork) -> None:
    saga = await uow.sagas.get_for_update(cmd.order_id)
    if saga is None:
        return  # a reservation orchestration never asked for (made over inventory's API)
    now = uow.clock.now()
    if cmd.confirmed:
        ORDER_SAGA.take(saga, RESERVATION_CONFIRMED, cmd.reservation_id, cmd.lines, now)
    else:
        ORDER_SAGA.take(saga, RESERVATION_REJECTED, cmd.reservation_id, cmd.reason, now)
    await uow.sagas.save(saga)


async def record_backorder_allocation(
    cmd: commands.RecordBackorderAllocation, uow: UnitOfWork
) -> None:
    saga = await uow.sagas.get_for_update(cmd.order_id)
    if saga is None:
        return
    ORDER_SAGA.take(saga, BACKORDER_ALLOCATED, cmd.reservation_id, cmd.lines, uow.clock.now())
    await uow.sagas.save(saga)


async def record_backorder_repromise(
    cmd: commands.RecordBackorderRepromise, uow: UnitOfWork
) -> None:
    saga = await uow.sagas.get_for_update(cmd.order_id)
    if saga is None:
        return
    ORDER_SAGA.take(
        saga, BACKORDER_REPROMISED, cmd.reservation_id, cmd.lines, cmd.reason, uow.clock.now()
    )
    await uow.sagas.save(saga)


async def cancel_units(cmd: commands.CancelUnits, uow: UnitOfWork) -> None:
    saga = await _locked(uow, cmd.order_id)
    saga.cancel(dict(cmd.quantities) if cmd.quantities is not None else None, uow.clock.now())
    await uow.sagas.save(saga)


async def change_delivery(cmd: commands.ChangeDelivery, uow: UnitOfWork) -> None:
    saga = await _locked(uow, cmd.order_id)
    saga.replan(cmd.ship_to, cmd.method, cmd.service_level, cmd.pickup_location, uow.clock.now())
    await uow.sagas.save(saga)


async def change_priority(cmd: commands.ChangePriority, uow: UnitOfWork) -> None:
    saga = await _locked(uow, cmd.order_id)
    saga.change_priority(cmd.priority)
    await uow.sagas.save(saga)


async def request_refund(cmd: commands.RequestRefund, uow: UnitOfWork) -> None:
    saga = await _locked(uow, cmd.order_id)
    ORDER_SAGA.take(saga, REFUND_REQUESTED, cmd.refund_id, cmd.amount, cmd.lines, uow.clock.now())
    await uow.sagas.save(saga)


async def keep_payment_token(cmd: commands.KeepPaymentToken, uow: UnitOfWork) -> None:
    """Kept for the authorisation, which the worker makes when the saga gets there; one
    that is due before the token came waits for it (record_payment_answer)."""
    await uow.payment_tokens.keep(cmd.order_id, cmd.token, uow.clock.now())


async def record_payment_answer(cmd: commands.RecordPaymentAnswer, uow: UnitOfWork) -> None:
    """The provider answered (or timed out): settle the operation and move the saga on."""
    saga = await _locked(uow, cmd.order_id)  # saga first, then the operation: one lock order
    op = await uow.sagas.operation_for_update(cmd.operation_id)
    if op is None or op.status is not OpStatus.PENDING:
        return
    now = uow.clock.now()
    op.attempts += 1
    result = cmd.result
    if result is None and op.attempts >= saga.policy.payment_attempts:
        result = (
            ProviderResult(
                False,
                code="payment_token_missing",
                reason=f"the order's payment token had not arrived after {op.attempts} tries",
            )
            if cmd.token_missing
            else ProviderResult(
                False, code="provider_unavailable", reason=f"no answer after {op.attempts} tries"
            )
        )
    if result is None:
        op.next_attempt_at = now + timedelta(seconds=retry_delay_s(op.attempts))
        op.reason = (
            "waiting for the order's payment token; retrying"
            if cmd.token_missing
            else "provider timed out; retrying with the same idempotency key"
        )
        await uow.sagas.save_operation(op)
        return
    op.status = OpStatus.SUCCEEDED if result.approved else OpStatus.FAILED
    op.code, op.reason, op.reference = result.code, result.reason, result.reference
    op.completed_at = now
    await uow.sagas.save_operation(op)
    ORDER_SAGA.take(saga, PAYMENT_ANSWERED, op, result, now)
    await uow.sagas.save(saga)


async def sweep_overdue(cmd: commands.SweepOverdue, uow: UnitOfWork) -> UUID | None:
    """A wait ran past its deadline: the saga stops waiting and compensates. Returns its order
    id, or None when no overdue saga is free (none is overdue, or others hold them)."""
    now = uow.clock.now()
    saga = await uow.sagas.next_overdue_for_update(now)
    if saga is None:
        return None
    saga.overdue(now)
    await uow.sagas.save(saga)
    return saga.order_id


async def _visible(uow: UnitOfWork, order_id: UUID, channels: frozenset[str] | None) -> OrderSaga:
    """The saga locked, when the caller's channels may see it: another channel's is 404,
    exactly like a missing one."""
    saga = await uow.sagas.get_for_update(order_id)
    if saga is None or (channels is not None and saga.order.channel not in channels):
        raise SagaNotFound(f"no saga for order {order_id}")
    return saga


async def _replayed(uow: UnitOfWork, scope: str, key: str | None, fp: str) -> bool:
    """True when a request with this Idempotency-Key already took effect: it answers with the
    saga as it is now, and nothing happens twice."""
    return await uow.idempotency.replayed(scope=scope, key=key, fingerprint=fp) is not None


# What each action a person takes on an order does to its saga; `text` is the action's note,
# payment token or reason. A hold is no reply (a person may hold the order at any step before
# fulfilment); the rest are replies the on-hold step lists.
_ACTIONS: dict[commands.OrderAction, Callable[[OrderSaga, str, datetime], None]] = {
    commands.OrderAction.HOLD: lambda saga, note, now: saga.put_on_hold(
        HoldReason.MANUAL, note, now
    ),
    commands.OrderAction.RELEASE: lambda saga, note, now: ORDER_SAGA.take(
        saga, RELEASED, note, now
    ),
    commands.OrderAction.PAYMENT: lambda saga, token, now: ORDER_SAGA.take(
        saga, NEW_PAYMENT_METHOD, token, now
    ),
    commands.OrderAction.APPROVE: lambda saga, note, now: ORDER_SAGA.take(
        saga, APPROVED_IN_REVIEW, note, now
    ),
    commands.OrderAction.REJECT: lambda saga, reason, now: ORDER_SAGA.take(
        saga, REJECTED_IN_REVIEW, reason, now
    ),
}


async def act_on_order(cmd: commands.ActOnOrder, uow: UnitOfWork) -> None:
    """A person's action on an order (hold, release, a new payment method, a review's
    approval or rejection), on the saga locked and narrowed to the caller's channels."""
    saga = await _visible(uow, cmd.order_id, cmd.channels)
    scope = f"{cmd.action.value}:{cmd.order_id}"
    if await _replayed(uow, scope, cmd.idempotency_key, cmd.fingerprint):
        return
    _ACTIONS[cmd.action](saga, cmd.text, uow.clock.now())
    await uow.sagas.save(saga)


async def put_carrier_rates(cmd: commands.PutCarrierRates, uow: UnitOfWork) -> int:
    try:
        RateTable.from_dict(cmd.body)  # what the schema cannot see: a service named twice
    except ValueError as exc:
        raise InvalidRateTable(str(exc)) from None
    return await uow.carrier_rates.add(cmd.body, uow.clock.now(), cmd.expected_version)


async def put_review_rules(cmd: commands.PutReviewRules, uow: UnitOfWork) -> int:
    return await uow.review_rule_versions.add(cmd.body, uow.clock.now(), cmd.expected_version)


async def put_strategy(cmd: commands.PutStrategy, uow: UnitOfWork) -> int:
    version = await uow.strategies.add(cmd.body, uow.clock.now(), cmd.expected_version)
    await uow.sagas.wake_all_waiting(uow.clock.now())  # the new rules may serve what waits
    return version
