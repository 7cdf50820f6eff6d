"""Opening a return: checked against what was delivered, what is already on its way back,
the window and the policy; approved at once unless the policy wants a person to look."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from services.returns.domain.errors import (
    DuplicateLine,
    ExceedsReturnable,
    NotReturnable,
    OutsideReturnWindow,
    ReturnLimitReached,
    UnknownLine,
)
from services.returns.domain.money import ZERO, OrderCredits
from services.returns.domain.order import KnownOrder, OrderLine
from services.returns.domain.parts import Method, Resolution, ReturnLine, Status
from services.returns.domain.policy import Reason, ReturnPolicy
from services.returns.domain.rma import ReturnRequest


@dataclass(frozen=True)
class WantedLine:
    line_id: UUID
    quantity: int
    reason: Reason
    comment: str | None = None


@dataclass(frozen=True)
class ReturnWish:
    return_id: UUID
    rma_number: str
    lines: tuple[WantedLine, ...]
    method: Method
    resolution: Resolution
    location_code: str | None = None


def open_return(
    wish: ReturnWish,
    order: KnownOrder,
    earlier: Sequence[ReturnRequest],
    policy: ReturnPolicy,
    credits: OrderCredits,
    now: datetime,
) -> ReturnRequest:
    """A new return, or the refusal that says exactly why not."""
    counted = [r for r in earlier if r.status is not Status.REJECTED]
    _check_order(order, counted, policy)
    in_returns: dict[UUID, int] = {}
    for r in counted:
        for ln in r.lines:
            in_returns[ln.line_id] = in_returns.get(ln.line_id, 0) + ln.quantity
    seen: set[UUID] = set()
    lines = []
    for wanted in wish.lines:
        if wanted.line_id in seen:
            raise DuplicateLine(f"line {wanted.line_id} appears more than once")
        seen.add(wanted.line_id)
        line = order.line(wanted.line_id)
        if line is None:
            raise UnknownLine(f"line {wanted.line_id} is not part of order {order.order_number}")
        _check_line(line, wanted.quantity, in_returns.get(line.line_id, 0), policy, now)
        lines.append(
            ReturnLine(line.line_id, line.sku, wanted.quantity, wanted.reason, wanted.comment)
        )
    rma = ReturnRequest(
        id=wish.return_id,
        rma_number=wish.rma_number,
        order_id=order.order_id,
        currency=order.currency,
        status=Status.REQUESTED,
        method=wish.method,
        resolution=wish.resolution,
        lines=lines,
        policy=policy,
        created_at=now,
        updated_at=now,
        location_code=wish.location_code,
    )
    worth = sum(
        (
            order_line.value_of_units(0, ln.quantity, order.currency)
            for ln, order_line in _pairs(lines, order)
        ),
        ZERO,
    )
    review = policy.needs_review(frozenset(ln.reason for ln in lines), worth)
    rma.announce_request(review, now)
    if not review:
        rma.approve(order, credits, now)
    return rma


def _check_order(order: KnownOrder, counted: Sequence[ReturnRequest], policy: ReturnPolicy) -> None:
    tagged = sorted(order.tags & policy.non_returnable_tags)
    if tagged:
        raise NotReturnable(f"order {order.order_number} is tagged {', '.join(tagged)}")
    if len(counted) >= policy.max_returns_per_order:
        raise ReturnLimitReached(
            f"order {order.order_number} already has {len(counted)} returns "
            f"(at most {policy.max_returns_per_order})"
        )


def _check_line(
    line: OrderLine, quantity: int, in_returns: int, policy: ReturnPolicy, now: datetime
) -> None:
    if line.sku in policy.non_returnable_skus:
        raise NotReturnable(f"{line.sku} cannot be returned")
    returnable = line.delivered - in_returns
    if quantity > returnable:
        raise ExceedsReturnable(
            f"line {line.line_id} ({line.sku}): {quantity} asked, {line.delivered} delivered, "
            f"{in_returns} already in returns"
        )
    assert line.delivered_at is not None  # something was delivered, so it has a date
    closes = line.delivered_at + timedelta(days=policy.window_days)
    if now > closes:
        raise OutsideReturnWindow(
            f"line {line.line_id} ({line.sku}) could be returned until {closes.date().isoformat()}"
        )


def _pairs(lines: Sequence[ReturnLine], order: KnownOrder) -> list[tuple[ReturnLine, OrderLine]]:
    pairs = []
    for ln in lines:
        order_line = order.line(ln.line_id)
        assert order_line is not None
        pairs.append((ln, order_line))
    return pairs
