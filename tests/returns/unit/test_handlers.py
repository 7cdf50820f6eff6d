"""Returns' use cases run as the bus runs them (one unit of work, one commit each), on the
in-memory unit of work of fakes.py: no database, no broker. The order projection, opening a
return, reviewing, receiving, refunds and their answers, exchanges and the policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from libs.errors import IdempotencyKeyReused, PreconditionFailed
from services.returns.domain import commands
from services.returns.domain import events as ev
from services.returns.domain.errors import (
    SELF_SERVICE_NOT_FOUND,
    ActionNotAllowed,
    ExceedsReturnable,
    OrderNotFound,
    OutsideReturnWindow,
    ReturnNotFound,
)
from services.returns.domain.opening import WantedLine
from services.returns.domain.parts import Method, RefundStatus, Status
from services.returns.domain.policy import Condition, Reason, RefundTiming, ReturnPolicy
from services.returns.domain.rma import ReturnRequest
from services.returns.service_layer.handlers import HANDLERS
from services.returns.service_layer.handlers.exchanges import ExchangePlacer, replacement_order
from services.returns.service_layer.unit_of_work import Placement
from tests.returns.unit.builders import (
    DELIVERED,
    GRAND_TOTAL,
    LAMP,
    LAMP_LINE,
    MUG,
    MUG_LINE,
    NOW,
    ORDER_ID,
    PLACED,
    REFUND,
    SHIPPING,
    STORE_CREDIT,
    exchange_for,
)
from tests.returns.unit.fakes import FakeDatabase, FakeUnitOfWork

LAMP_VALUE = Decimal("41.00")  # 40.00 less its share of the discount plus its tax


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class Service:
    """returns with its handlers on a fake database: `handle` runs a command as the bus
    does, in a fresh unit of work that commits once."""

    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.clock = Clock(NOW)

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db, self.clock)

    async def handle(self, message: object) -> Any:
        async with self.uow() as uow:
            result = await HANDLERS[type(message)](message, uow)
            await uow.commit()
        return result

    async def order_delivered(self, *, at: datetime = DELIVERED) -> None:
        """2 lamps (82.00) and 3 mugs (31.10) with 4.95 shipping, all of them delivered."""
        await self.handle(placed())
        await self.handle(
            commands.RecordShipment(ORDER_ID, "SHP-1", {LAMP_LINE: 2, MUG_LINE: 3}, at, True)
        )

    async def open(self, *lines: WantedLine, **fields: Any) -> UUID:
        wanted = lines or (WantedLine(LAMP_LINE, 2, Reason.CHANGED_MIND),)
        return_id: UUID = await self.handle(
            commands.OpenReturn(
                lines=wanted,
                method=fields.pop("method", Method.MAIL),
                resolution=fields.pop("resolution", REFUND),
                order_id=fields.pop("order_id", ORDER_ID),
                **fields,
            )
        )
        return return_id

    async def receive(
        self, return_id: UUID, *lines: tuple[UUID, int, Condition], key: str | None = None
    ) -> UUID:
        receipt_id: UUID = await self.handle(
            commands.ReceiveReturn(
                return_id,
                "WH-BER",
                lines or ((LAMP_LINE, 2, Condition.RESELLABLE),),
                idempotency_key=key,
                fingerprint="receipt",
            )
        )
        return receipt_id

    def rma(self, return_id: UUID) -> ReturnRequest:
        return self.db.returns[return_id]

    def published(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.db.outbox if isinstance(e, kind)]


def placed(**changes: Any) -> commands.ProjectPlacedOrder:
    order = commands.ProjectPlacedOrder(
        order_id=ORDER_ID,
        order_number="ORD-1001",
        customer_email="ada@example.com",
        currency="EUR",
        placed_at=PLACED,
        lines=(
            commands.KnownLine(
                LAMP_LINE, LAMP, 2, Decimal("40.00"), Decimal("5.00"), Decimal("7.00"), "Lamp"
            ),
            commands.KnownLine(
                MUG_LINE, MUG, 3, Decimal("10.00"), Decimal("1.00"), Decimal("2.10"), "Mug"
            ),
        ),
        channel="web",
        customer_name="Ada Lovelace",
        shipping_amount=SHIPPING,
        grand_total=GRAND_TOTAL,
        shipping_address={"country": "DE", "city": "Berlin"},
    )
    return replace(order, **changes)


@pytest.fixture
def returns() -> Service:
    return Service()


# --- the order projection -------------------------------------------------------------------


async def test_a_delivery_is_counted_once_whatever_the_redeliveries(returns: Service) -> None:
    await returns.order_delivered()
    await returns.handle(
        commands.RecordShipment(ORDER_ID, "SHP-1", {LAMP_LINE: 2}, NOW, delivered=True)
    )

    order = returns.db.orders[ORDER_ID]
    assert [(ln.sku, ln.delivered, ln.delivered_at) for ln in order.lines] == [
        (LAMP, 2, DELIVERED),
        (MUG, 3, DELIVERED),
    ]


async def test_a_shipment_of_an_order_returns_never_saw_changes_nothing(
    returns: Service,
) -> None:
    await returns.handle(commands.RecordShipment(ORDER_ID, "SHP-1", {LAMP_LINE: 2}, NOW, True))

    assert returns.db.orders == {}
    assert returns.db.shipments_seen == set()


async def test_an_order_placed_again_keeps_what_was_known_and_its_contact_can_change(
    returns: Service,
) -> None:
    await returns.handle(placed())
    await returns.handle(placed(customer_email="someone@else.example", channel="app"))
    await returns.handle(
        commands.UpdateOrderContact(ORDER_ID, {"city": "Hamburg"}, "grace@example.com", "Grace")
    )

    order = returns.db.orders[ORDER_ID]
    assert order.channel == "web"
    assert (order.customer_email, order.customer_name) == ("grace@example.com", "Grace")
    assert order.shipping_address == {"city": "Hamburg"}


# --- opening --------------------------------------------------------------------------------


async def test_a_return_is_opened_approved_and_announced(returns: Service) -> None:
    await returns.order_delivered()

    return_id = await returns.open()

    rma = returns.rma(return_id)
    assert (rma.status, rma.rma_number, rma.policy.version) == (
        Status.APPROVED,
        "RMA-00000001",
        1,
    )
    assert rma.label is not None and rma.label.carrier == "DHL"
    assert [type(e) for e in returns.db.outbox] == [ev.ReturnRequested, ev.ReturnApproved]
    (requested,) = returns.published(ev.ReturnRequested)
    assert (requested.return_id, requested.order_id, requested.needs_review) == (
        return_id,
        ORDER_ID,
        False,
    )


async def test_a_refused_return_leaves_nothing_behind(returns: Service) -> None:
    await returns.order_delivered()

    with pytest.raises(ExceedsReturnable):
        await returns.open(WantedLine(LAMP_LINE, 3, Reason.CHANGED_MIND))

    assert returns.db.returns == {} and returns.db.outbox == []
    assert returns.db.commits == 2  # the order and its delivery


async def test_an_unknown_order_is_not_found(returns: Service) -> None:
    with pytest.raises(OrderNotFound):
        await returns.open()


async def test_a_customer_proves_the_order_by_its_email_and_a_wrong_one_learns_nothing(
    returns: Service,
) -> None:
    await returns.order_delivered()

    for number, email in (("ORD-1001", "eve@example.com"), ("ORD-9999", "ada@example.com")):
        with pytest.raises(OrderNotFound) as refused:
            await returns.open(order_id=None, order_number=number, email=email)
        assert refused.value.detail == SELF_SERVICE_NOT_FOUND
    return_id = await returns.open(order_id=None, order_number="ORD-1001", email="ADA@example.com")

    assert returns.rma(return_id).order_id == ORDER_ID


async def test_the_same_idempotency_key_opens_one_return_and_another_body_is_refused(
    returns: Service,
) -> None:
    await returns.order_delivered()

    first = await returns.open(idempotency_key="k-1", fingerprint="body")
    again = await returns.open(idempotency_key="k-1", fingerprint="body")
    with pytest.raises(IdempotencyKeyReused):
        await returns.open(idempotency_key="k-1", fingerprint="another body")

    assert again == first
    assert list(returns.db.returns) == [first]


async def test_a_return_over_the_review_amount_waits_until_a_person_approves_it(
    returns: Service,
) -> None:
    await returns.order_delivered()
    await returns.handle(commands.PutPolicy(ReturnPolicy(review_above_amount=Decimal("50"))))
    waiting = await returns.open()  # 82.00
    at_once = await returns.open(WantedLine(MUG_LINE, 3, Reason.CHANGED_MIND))  # 31.10
    assert returns.rma(waiting).status is Status.REQUESTED
    assert returns.rma(at_once).status is Status.APPROVED

    await returns.handle(commands.ReviewReturn(waiting, approve=True))
    await returns.handle(commands.ReviewReturn(waiting, approve=True))  # a repeat: no effect

    assert returns.rma(waiting).status is Status.APPROVED
    assert [e.needs_review for e in returns.published(ev.ReturnRequested)] == [True, False]
    assert [e.return_id for e in returns.published(ev.ReturnApproved)] == [at_once, waiting]


async def test_a_rejected_return_is_rejected_with_its_reason(returns: Service) -> None:
    await returns.order_delivered()
    await returns.handle(commands.PutPolicy(ReturnPolicy(review_reasons=frozenset(Reason))))
    return_id = await returns.open()

    await returns.handle(commands.ReviewReturn(return_id, approve=False, reason="worn"))

    rma = returns.rma(return_id)
    assert (rma.status, rma.rejection_reason) == (Status.REJECTED, "worn")
    assert [e.reason for e in returns.published(ev.ReturnRejected)] == ["worn"]
    with pytest.raises(ActionNotAllowed):
        await returns.handle(commands.DropOffReturn(return_id))


async def test_a_step_on_an_unknown_return_is_not_found(returns: Service) -> None:
    with pytest.raises(ReturnNotFound):
        await returns.handle(commands.DropOffReturn(UUID(int=404)))


# --- receiving and refunds ------------------------------------------------------------------


async def test_receiving_everything_asks_for_the_refund_and_the_answer_closes_the_return(
    returns: Service,
) -> None:
    await returns.order_delivered()
    return_id = await returns.open()
    await returns.handle(commands.DropOffReturn(return_id))
    assert returns.rma(return_id).status is Status.IN_TRANSIT

    await returns.receive(return_id)

    (asked,) = returns.published(ev.RefundRequested)
    assert (asked.amount, asked.lines) == (LAMP_VALUE * 2, (ev.RefundLine(LAMP_LINE, 2),))
    assert returns.rma(return_id).status is Status.RECEIVED
    assert returns.db.credits[ORDER_ID].amount == LAMP_VALUE * 2

    await returns.handle(commands.RecordRefundOutcome(ORDER_ID, asked.refund_id, True))

    rma = returns.rma(return_id)
    assert rma.status is Status.CLOSED
    assert rma.refunded_amount == LAMP_VALUE * 2
    assert [e.refunded_amount for e in returns.published(ev.ReturnClosed)] == [LAMP_VALUE * 2]


async def test_a_receipt_sent_again_with_its_key_is_recorded_once(returns: Service) -> None:
    await returns.order_delivered()
    return_id = await returns.open()

    first = await returns.receive(return_id, (LAMP_LINE, 1, Condition.DAMAGED), key="r-1")
    again = await returns.receive(return_id, (LAMP_LINE, 1, Condition.DAMAGED), key="r-1")

    assert again == first
    assert [r.id for r in returns.rma(return_id).receipts] == [first]
    assert returns.rma(return_id).status is Status.PARTIALLY_RECEIVED
    assert len(returns.published(ev.ReturnReceived)) == 1


async def test_an_answer_about_someone_elses_refund_changes_nothing(returns: Service) -> None:
    await returns.order_delivered()
    return_id = await returns.open()
    await returns.receive(return_id)
    sent = len(returns.db.outbox)

    await returns.handle(commands.RecordRefundOutcome(ORDER_ID, "not-ours", True))

    assert len(returns.db.outbox) == sent
    assert returns.rma(return_id).status is Status.RECEIVED


async def test_a_failed_refund_gives_the_money_back_and_a_retry_asks_again(
    returns: Service,
) -> None:
    await returns.order_delivered()
    return_id = await returns.open()
    await returns.receive(return_id)
    (asked,) = returns.published(ev.RefundRequested)

    await returns.handle(
        commands.RecordRefundOutcome(ORDER_ID, asked.refund_id, False, "card expired")
    )
    assert returns.rma(return_id).refunds[0].status is RefundStatus.FAILED
    assert returns.db.credits[ORDER_ID].amount == Decimal("0")

    await returns.handle(commands.RetryRefunds(return_id))

    first, second = returns.published(ev.RefundRequested)
    assert second.refund_id != first.refund_id and second.amount == first.amount
    assert returns.db.credits[ORDER_ID].amount == first.amount
    with pytest.raises(ActionNotAllowed):
        await returns.handle(commands.RetryRefunds(return_id))


async def test_store_credit_is_settled_at_once_and_the_return_closes_on_receipt(
    returns: Service,
) -> None:
    await returns.order_delivered()
    return_id = await returns.open(resolution=STORE_CREDIT)

    await returns.receive(return_id)

    assert returns.published(ev.RefundRequested) == []
    assert [(e.method, e.amount) for e in returns.published(ev.ReturnRefunded)] == [
        ("store_credit", LAMP_VALUE * 2)
    ]
    assert returns.rma(return_id).status is Status.CLOSED


async def test_refunded_on_approval_asks_for_the_money_when_the_return_opens(
    returns: Service,
) -> None:
    await returns.order_delivered()
    await returns.handle(commands.PutPolicy(ReturnPolicy(refund_timing=RefundTiming.ON_APPROVAL)))

    return_id = await returns.open()

    assert [e.return_id for e in returns.published(ev.RefundRequested)] == [return_id]


# --- exchanges ------------------------------------------------------------------------------


class OrderCapture:
    """order-capture as the exchange worker sees it: answers in turn, then it is down."""

    def __init__(self, *answers: Placement | None) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[Mapping[str, Any], str]] = []

    async def place(
        self, order: Mapping[str, Any], *, idempotency_key: str, return_id: UUID
    ) -> Placement | None:
        self.calls.append((order, idempotency_key))
        return self.answers.pop(0) if self.answers else None


def placer(returns: Service, order_capture: OrderCapture) -> ExchangePlacer:
    return ExchangePlacer(
        bus=returns,
        unit_of_work=returns.uow,
        orders=order_capture,
        clock=returns.clock,
        lease=timedelta(seconds=30),
    )


async def exchange_received(returns: Service) -> UUID:
    await returns.order_delivered()
    return_id = await returns.open(resolution=exchange_for("LAMP-001-XL", Decimal("45.00")))
    await returns.receive(return_id)
    return return_id


async def test_an_exchange_places_its_replacement_order_once_and_the_return_closes(
    returns: Service,
) -> None:
    return_id = await exchange_received(returns)
    order_capture = OrderCapture(Placement(UUID(int=7)))

    assert await placer(returns, order_capture).run_once() == 1
    assert await placer(returns, order_capture).run_once() == 0

    ((body, key),) = order_capture.calls
    assert key == f"exchange-{return_id}"
    assert body["lines"] == [
        {"sku": "LAMP-001-XL", "quantity": 2, "unit_price": "45", "discount_amount": "82"}
    ]
    # The original order's token, by its order: returns never holds a token.
    assert body["payment"] == {
        "method": "card",
        "token_of_order": str(ORDER_ID),
        "amount": "8",
    }
    rma = returns.rma(return_id)
    assert rma.exchange is not None
    assert (rma.exchange.status, rma.exchange.order_id) == ("placed", UUID(int=7))
    assert rma.status is Status.CLOSED


async def test_an_exchange_order_capture_refuses_is_failed_with_its_reason(
    returns: Service,
) -> None:
    return_id = await exchange_received(returns)

    await placer(returns, OrderCapture(Placement(None, "out_of_stock: no"))).run_once()

    exchange = returns.rma(return_id).exchange
    assert exchange is not None
    assert (exchange.status, exchange.reason) == ("failed", "out_of_stock: no")


async def test_an_exchange_order_capture_cannot_answer_is_tried_again_next_round(
    returns: Service,
) -> None:
    return_id = await exchange_received(returns)
    order_capture = OrderCapture(None, Placement(UUID(int=8)))

    assert await placer(returns, order_capture).run_once() == 0
    assert returns.db.exchange_claims == {}  # given up at once, for any process to retry
    assert await placer(returns, order_capture).run_once() == 1

    exchange = returns.rma(return_id).exchange
    assert exchange is not None and exchange.order_id == UUID(int=8)


async def test_an_exchange_claimed_by_another_process_waits_for_its_lease(
    returns: Service,
) -> None:
    await exchange_received(returns)
    async with returns.uow() as uow:
        await uow.returns.claim_pending_exchanges(NOW, 10, lease=timedelta(seconds=30))
        await uow.commit()
    order_capture = OrderCapture(Placement(UUID(int=9)))

    assert await placer(returns, order_capture).run_once() == 0
    returns.clock.at = NOW + timedelta(seconds=30)
    assert await placer(returns, order_capture).run_once() == 1


# --- the policy -----------------------------------------------------------------------------


async def test_every_put_is_a_new_version_and_a_stale_one_is_refused(returns: Service) -> None:
    assert await returns.handle(commands.PutPolicy(ReturnPolicy(window_days=14))) == 2
    assert await returns.handle(commands.PutPolicy(ReturnPolicy(), expected_version=2)) == 3

    with pytest.raises(PreconditionFailed):
        await returns.handle(commands.PutPolicy(ReturnPolicy(), expected_version=2))
    async with returns.uow() as uow:
        policy, at = await uow.policies.current()
    assert (policy.version, policy.window_days, at) == (3, 30, NOW)


async def test_a_return_is_judged_by_the_policy_in_force_when_it_opens(
    returns: Service,
) -> None:
    await returns.order_delivered(at=NOW - timedelta(days=20))
    await returns.handle(commands.PutPolicy(ReturnPolicy(window_days=14)))

    with pytest.raises(OutsideReturnWindow):
        await returns.open()
    await returns.handle(commands.PutPolicy(ReturnPolicy(window_days=30)))
    return_id = await returns.open()

    assert returns.rma(return_id).policy.version == 3


async def test_an_exchange_order_names_the_address_point_as_order_capture_api_does(
    returns: Service,
) -> None:
    """The order events say lat/lon; order-capture's API (3.0.0) says latitude/longitude and
    refuses unknown fields, so the replacement order is written in the API's names."""
    return_id = await exchange_received(returns)
    rma = returns.rma(return_id)
    located = replace(
        returns.db.orders[rma.order_id],
        shipping_address={"country": "DE", "city": "Berlin", "lat": 52.5, "lon": 13.4},
    )

    body = replacement_order(rma, located)

    assert body["shipping_address"] == {
        "country": "DE",
        "city": "Berlin",
        "latitude": 52.5,
        "longitude": 13.4,
    }
