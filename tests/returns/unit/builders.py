"""Building blocks shared by the returns unit tests: an order with two delivered lines, a
policy, a return wish, and a scene that drives one return the way the handlers will (every
step given the order's view and the order's credits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from libs.contracts import returns as ev
from libs.contracts.base import IntegrationEvent
from services.returns.domain.money import OrderCredits
from services.returns.domain.opening import ReturnWish, WantedLine, open_return
from services.returns.domain.order import KnownOrder, OrderLine
from services.returns.domain.parts import (
    Method,
    Receipt,
    Refund,
    RefundStatus,
    Resolution,
    ResolutionKind,
)
from services.returns.domain.policy import Condition, Reason, ReturnPolicy
from services.returns.domain.rma import ReturnRequest
from services.returns.messaging.publications import translate

NOW = datetime(2024, 6, 3, 10, 0, tzinfo=UTC)
PLACED = NOW - timedelta(days=12)
DELIVERED = NOW - timedelta(days=5)

ORDER_ID = UUID("0b6c4c1e-8f0e-4a53-9d7e-2f1c2b7d5a01")
RETURN_ID = UUID("7d2f1a90-3c4b-4e8a-b1d2-9a0e5c6f7b02")
LAMP_LINE = UUID("c1a1a1a1-0000-4000-8000-000000000001")
MUG_LINE = UUID("c2b2b2b2-0000-4000-8000-000000000002")
LAMP, MUG = "LAMP-001", "MUG-002"

# 2 lamps at 40.00 less 5.00 discount plus 7.00 tax: 82.00, 41.00 a lamp.
LAMP_TOTAL = Decimal("82.00")
# 3 mugs at 10.00 less 1.00 discount plus 2.10 tax: 31.10, which does not split in thirds.
MUG_TOTAL = Decimal("31.10")
SHIPPING = Decimal("4.95")
GRAND_TOTAL = LAMP_TOTAL + MUG_TOTAL + SHIPPING  # 118.05

REFUND = Resolution(ResolutionKind.REFUND)
STORE_CREDIT = Resolution(ResolutionKind.STORE_CREDIT)

E = TypeVar("E", bound=IntegrationEvent)


def lamp_line(**changes: Any) -> OrderLine:
    fields: dict[str, Any] = {
        "line_id": LAMP_LINE,
        "sku": LAMP,
        "quantity": 2,
        "unit_price": Decimal("40.00"),
        "discount_amount": Decimal("5.00"),
        "tax_amount": Decimal("7.00"),
        "name": "Desk lamp",
        "shipped": 2,
        "delivered": 2,
        "delivered_at": DELIVERED,
    }
    return OrderLine(**(fields | changes))


def mug_line(**changes: Any) -> OrderLine:
    fields: dict[str, Any] = {
        "line_id": MUG_LINE,
        "sku": MUG,
        "quantity": 3,
        "unit_price": Decimal("10.00"),
        "discount_amount": Decimal("1.00"),
        "tax_amount": Decimal("2.10"),
        "name": "Mug",
        "shipped": 3,
        "delivered": 3,
        "delivered_at": DELIVERED,
    }
    return OrderLine(**(fields | changes))


def make_order(
    lines: Sequence[OrderLine] | None = None,
    *,
    shipping: Decimal = SHIPPING,
    total: Decimal | None = None,
    tags: frozenset[str] = frozenset(),
    currency: str = "EUR",
) -> KnownOrder:
    """A fresh order (its lines are mutable): by default both lines delivered five days ago."""
    lines = list(lines) if lines is not None else [lamp_line(), mug_line()]
    if total is None:
        total = sum((ln.total for ln in lines), Decimal("0")) + shipping
    return KnownOrder(
        order_id=ORDER_ID,
        order_number="ORD-1001",
        channel="web",
        customer_email="ada@example.com",
        customer_name="Ada Lovelace",
        currency=currency,
        placed_at=PLACED,
        shipping_amount=shipping,
        grand_total=total,
        lines=lines,
        tags=tags,
        shipping_address={"country": "DE", "city": "Berlin"},
    )


def policy(**changes: Any) -> ReturnPolicy:
    return ReturnPolicy(version=3, **changes)


def want(
    line_id: UUID, quantity: int, reason: Reason = Reason.CHANGED_MIND, comment: str | None = None
) -> WantedLine:
    return WantedLine(line_id, quantity, reason, comment)


def wish(
    *lines: WantedLine,
    method: Method = Method.MAIL,
    resolution: Resolution = REFUND,
    return_id: UUID = RETURN_ID,
    rma_number: str = "RMA-0001",
) -> ReturnWish:
    return ReturnWish(
        return_id=return_id,
        rma_number=rma_number,
        lines=lines or (want(LAMP_LINE, 2),),
        method=method,
        resolution=resolution,
        location_code="ST-BER" if method is Method.IN_STORE else None,
    )


def exchange_for(sku: str, unit_price: Decimal | None = None) -> Resolution:
    return Resolution(ResolutionKind.EXCHANGE, sku, unit_price)


def published(rma: ReturnRequest) -> list[IntegrationEvent]:
    """What the return announced so far, as returns publishes it."""
    return [translate(e) for e in rma.events]


def events(rma: ReturnRequest, cls: type[E]) -> list[E]:
    return [e for e in published(rma) if isinstance(e, cls)]


def names(rma: ReturnRequest) -> list[str]:
    """The timeline, step by step."""
    return [entry.name for entry in rma.timeline]


@dataclass
class Scene:
    """One return of one order, stepped through as the handlers do it."""

    order: KnownOrder
    credits: OrderCredits
    rma: ReturnRequest
    receipts: int = field(default=0)

    def approve(self, at: datetime = NOW) -> None:
        self.rma.approve(self.order, self.credits, at)

    def reject(self, reason: str = "worn", at: datetime = NOW) -> None:
        self.rma.reject(reason, at)

    def drop_off(self, at: datetime = NOW) -> None:
        self.rma.drop_off(self.order, self.credits, at)

    def receive(
        self,
        *lines: tuple[UUID, int, Condition],
        receipt_id: UUID | None = None,
        location: str = "WH-BER",
        at: datetime = NOW,
    ) -> Receipt:
        """Default: every outstanding unit, resellable, under a fresh receipt id."""
        if not lines:
            lines = tuple(
                (ln.line_id, ln.outstanding, Condition.RESELLABLE)
                for ln in self.rma.lines
                if ln.outstanding
            )
        self.receipts += 1
        rid = receipt_id or UUID(int=self.receipts)
        return self.rma.receive(rid, location, lines, self.order, self.credits, at)

    def pending_refunds(self) -> list[Refund]:
        return [r for r in self.rma.refunds if r.status is RefundStatus.REQUESTED]

    def answer(
        self,
        ok: bool = True,
        refund_id: str | None = None,
        reason: str | None = None,
        at: datetime = NOW,
    ) -> str:
        """Orchestration answered a refund: by default the oldest still waiting."""
        if refund_id is None:
            waiting = self.pending_refunds()
            assert waiting, "no refund waiting for an answer"
            refund_id = waiting[0].id
        failure = None if ok else (reason or "card expired")
        self.rma.refund_settled(refund_id, ok, failure, self.credits, at)
        return refund_id

    def requested(self) -> list[ev.RefundRequested]:
        return events(self.rma, ev.RefundRequested)


def scene(
    the_wish: ReturnWish | None = None,
    the_policy: ReturnPolicy | None = None,
    *,
    order: KnownOrder | None = None,
    credits: OrderCredits | None = None,
) -> Scene:
    """A return opened (and, unless the policy wants a review, approved) now."""
    order = order or make_order()
    credits = credits if credits is not None else OrderCredits()
    rma = open_return(the_wish or wish(), order, [], the_policy or policy(), credits, NOW)
    return Scene(order, credits, rma)
