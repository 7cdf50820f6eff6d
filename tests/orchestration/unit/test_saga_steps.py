"""The order saga's step table (domain/saga/steps.py): complete, and the saga's own."""

from __future__ import annotations

from services.orchestration.domain.saga import ORDER_SAGA, OrderSaga, SagaState


def test_every_state_is_one_step_of_the_table_in_the_order_an_order_goes() -> None:
    assert {s.state for s in ORDER_SAGA.steps} == set(SagaState)
    assert [s.name for s in ORDER_SAGA.steps] == [
        "route",
        "wait for stock",
        "reserve",
        "wait for incoming stock",
        "authorize",
        "fulfil",
        "complete",
        "on hold",
        "cancelled",
    ]
    assert OrderSaga.definition is ORDER_SAGA


def test_every_reply_is_taken_by_a_method_of_the_saga() -> None:
    for reply in ORDER_SAGA.replies():
        assert getattr(OrderSaga, reply.handler.__name__) is reply.handler, reply.name


def test_cancelling_takes_back_unrouted_then_held_units_then_fulfilment_orders() -> None:
    now = [c.now.__name__ for c in ORDER_SAGA.compensations() if c.now is not None]
    later = [c.later.__name__ for c in ORDER_SAGA.compensations() if c.later is not None]

    assert now == ["_drop_unrouted", "_cancel_held", "_withdraw_cancelled"]
    assert later == ["_cancel_in_flight"]
