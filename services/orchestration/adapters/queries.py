"""Read-side SQL for orchestration's GET endpoints. Each answers with plain read models of
its own (the dataclasses below); the routes turn them into their response schemas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.narrowing import Codes
from libs.db.pagination import Keyset, by_datetime, by_uuid
from libs.money import display_amount, minor_units
from services.orchestration.adapters import mappers
from services.orchestration.adapters.narrowing import fulfillment_visible, saga_visible
from services.orchestration.adapters.tables import (
    fulfillment_order,
    order_saga,
    payment_operation,
    routing_decision,
    saga_step,
)
from services.orchestration.domain.fulfillment import Fulfillment
from services.orchestration.domain.routing.stored import readable_candidates
from services.orchestration.domain.saga import (
    FINISHED,
    HOLD_WAYS_OUT,
    Hold,
    HoldReason,
    OrderSaga,
    SagaState,
)

# Routing that is overdue by more than this (inventory away, worker down) counts as stuck.
ROUTING_GRACE = timedelta(seconds=30)
_FINISHED = [s.value for s in FINISHED]


@dataclass(frozen=True)
class SagaStepRow:
    name: str
    at: datetime
    detail: str


@dataclass(frozen=True)
class PaymentTotals:
    status: str
    currency: str
    authorized: Decimal
    captured: Decimal
    voided: Decimal
    refunded: Decimal


@dataclass(frozen=True)
class HoldView:
    hold_id: UUID
    reason: HoldReason
    detail: str
    since: datetime
    ways_out: list[str]


@dataclass(frozen=True)
class HeldOrderView(HoldView):
    order_id: UUID
    order_number: str
    channel: str


@dataclass(frozen=True)
class SagaSummaryView:
    order_id: UUID
    order_number: str
    channel: str
    state: str
    state_since: datetime
    waiting_for: str | None
    stuck: bool
    started_at: datetime
    updated_at: datetime
    due_at: datetime | None
    deadline_at: datetime | None


@dataclass(frozen=True)
class SagaView(SagaSummaryView):
    round: int
    unrouted: dict[str, int]
    excluded_locations: list[str]
    hold_reason: str | None
    hold: HoldView | None
    payment: PaymentTotals
    fulfillment_ids: list[UUID]
    steps: list[SagaStepRow]
    priority: str


_Item = TypeVar("_Item")


@dataclass(frozen=True)
class ReadPage(Generic[_Item]):
    """A page of a keyset-paginated list: its items and the cursor of the next (None: last)."""

    items: list[_Item]
    next_cursor: str | None


@dataclass(frozen=True)
class RoutingDecisionView:
    id: UUID
    order_id: UUID
    round: int
    outcome: str
    strategy_version: int
    explanation: str
    reason: str | None
    meets_requested_date: bool | None
    decided_at: datetime
    candidates: list[dict[str, Any]]
    parts: list[dict[str, Any]]
    request: dict[str, Any]


@dataclass(frozen=True)
class PaymentOperationView:
    id: UUID
    kind: str
    status: str
    amount: Decimal
    currency: str
    attempts: int
    code: str | None
    reason: str | None
    reference: str | None
    shipment_id: str | None
    refund_id: str | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class FulfillmentLineView:
    line_id: str
    sku: str
    quantity: int
    cancelled: int
    short: int


@dataclass(frozen=True)
class ShipmentView:
    shipment_id: str
    carrier: str
    service: str | None
    tracking_number: str
    tracking_url: str | None
    shipped_at: datetime


@dataclass(frozen=True)
class FulfillmentView:
    id: UUID
    order_id: UUID
    order_number: str
    location_code: str
    method: str
    status: str
    allowed_actions: list[str]
    lines: list[FulfillmentLineView]
    reason: str | None
    shipment: ShipmentView | None
    history: list[dict[str, str]]
    created_at: datetime
    updated_at: datetime


def _money(amount: Decimal, currency: str) -> Decimal:
    return display_amount(amount, minor_units(currency))


def _stuck(now: datetime) -> ColumnElement[bool]:
    return and_(
        order_saga.c.state.not_in(_FINISHED),
        or_(order_saga.c.deadline_at < now, order_saga.c.due_at < now - ROUTING_GRACE),
    )


def _is_stuck(row: Any, now: datetime) -> bool:
    if row.state in _FINISHED:
        return False
    overdue_wait = row.deadline_at is not None and row.deadline_at < now
    overdue_step = row.due_at is not None and row.due_at < now - ROUTING_GRACE
    return overdue_wait or overdue_step


# What a saga in each state waits for (None: nothing, it has ended).
WAITING_FOR = {
    "routing": "routing",
    "waiting_for_stock": "stock",
    "reserving": "reservation",
    "backordered": "incoming_stock",
    "authorizing": "payment",
    "fulfilling": "fulfilment",
    "on_hold": "release",
}
# When the saga entered its state: every move to another state records a step named after the
# state it enters (SagaCore._move); the first state has none, so it dates from the start.
STATE_SINCE = func.coalesce(
    select(func.max(saga_step.c.at))
    .where(saga_step.c.order_id == order_saga.c.order_id, saga_step.c.name == order_saga.c.state)
    .correlate(order_saga)
    .scalar_subquery(),
    order_saga.c.started_at,
).label("state_since")


def _summary(row: Any, now: datetime) -> dict[str, Any]:
    return {
        "order_id": row.order_id,
        "order_number": row.order_number,
        "channel": row.channel,
        "state": row.state,
        "state_since": row.state_since,
        "waiting_for": WAITING_FOR.get(row.state),
        "stuck": _is_stuck(row, now),
        "started_at": row.started_at,
        "updated_at": row.updated_at,
        "due_at": row.due_at,
        "deadline_at": row.deadline_at,
    }


async def saga_exists(session: AsyncSession, order_id: UUID, *, channels: Codes) -> bool:
    """Whether the order has a saga in one of these channels (None: in any)."""
    found = await session.scalar(
        select(order_saga.c.order_id).where(
            order_saga.c.order_id == order_id, saga_visible(channels)
        )
    )
    return found is not None


async def saga_of(
    session: AsyncSession, order_id: UUID, now: datetime, *, channels: Codes
) -> SagaView | None:
    """The saga, or None when there is none in these channels (None: in any)."""
    row = (
        await session.execute(
            select(order_saga, STATE_SINCE).where(
                order_saga.c.order_id == order_id, saga_visible(channels)
            )
        )
    ).one_or_none()
    if row is None:
        return None
    steps = await session.execute(
        select(saga_step).where(saga_step.c.order_id == order_id).order_by(saga_step.c.id)
    )
    fids = await session.scalars(
        select(fulfillment_order.c.id)
        .where(fulfillment_order.c.order_id == order_id)
        .order_by(fulfillment_order.c.created_at, fulfillment_order.c.id)
    )
    saga = mappers.saga_from(row, [])
    p = saga.payment
    return SagaView(
        **_summary(row, now),
        round=saga.round,
        priority=saga.order.priority,
        unrouted={k: v for k, v in saga.unrouted.items() if v},
        excluded_locations=saga.excluded,
        hold_reason=_why_stopped(saga),
        hold=_hold_read(saga.hold, row.order_id) if saga.hold else None,
        payment=PaymentTotals(
            status=p.status,
            currency=saga.order.currency,
            authorized=_money(p.authorized, saga.order.currency),
            captured=_money(p.captured, saga.order.currency),
            voided=_money(p.voided, saga.order.currency),
            refunded=_money(p.refunded, saga.order.currency),
        ),
        fulfillment_ids=list(fids),
        steps=[SagaStepRow(name=s.name, at=s.at, detail=s.detail) for s in steps],
    )


def _why_stopped(saga: OrderSaga) -> str | None:
    """Why the order is held, or why it waits for stock; None while it moves on."""
    if saga.hold is not None:
        return saga.hold.detail
    return saga.hold_reason if saga.state is SagaState.WAITING_FOR_STOCK else None


def _hold_read(hold: Hold, order_id: UUID) -> HoldView:
    return HoldView(
        hold_id=UUID(hold.id),
        reason=hold.reason,
        detail=hold.detail,
        since=hold.since,
        ways_out=[w.replace("{id}", str(order_id)) for w in HOLD_WAYS_OUT[hold.reason]],
    )


HELD = Keyset(by_uuid(order_saga.c.order_id))
"""Held orders oldest order first: the order id is a time-ordered UUID."""
SAGAS = Keyset(
    by_datetime(order_saga.c.started_at), by_uuid(order_saga.c.order_id), descending=True
)
FULFILLMENTS = Keyset(by_datetime(fulfillment_order.c.created_at), by_uuid(fulfillment_order.c.id))
"""Fulfilment orders oldest first: a work queue."""


async def list_holds(
    session: AsyncSession,
    *,
    reason: str | None,
    channel: str | None,
    limit: int,
    cursor: str | None,
    channels: Codes,
) -> ReadPage[HeldOrderView]:
    """Held orders, oldest order first (keyset on the order id, a time-ordered UUID)."""
    query = select(order_saga).where(
        order_saga.c.state == SagaState.ON_HOLD.value, saga_visible(channels)
    )
    if channel is not None:
        query = query.where(order_saga.c.channel == channel)
    if reason is not None:
        query = query.where(order_saga.c.data["hold"]["reason"].astext == reason)
    rows, next_cursor = await HELD.page(session, query, limit=limit, cursor=cursor)
    items = []
    for row in rows:
        saga = mappers.saga_from(row, [])
        if saga.hold is None:
            continue
        held = _hold_read(saga.hold, row.order_id)
        items.append(
            HeldOrderView(
                **vars(held),
                order_id=row.order_id,
                order_number=row.order_number,
                channel=row.channel,
            )
        )
    return ReadPage(items=items, next_cursor=next_cursor)


async def list_sagas(
    session: AsyncSession,
    *,
    now: datetime,
    state: str | None,
    stuck: bool | None,
    limit: int,
    cursor: str | None,
    channels: Codes,
) -> ReadPage[SagaSummaryView]:
    """Newest first, keyset on (started_at, order_id); only these channels' (None: all)."""
    query = select(order_saga, STATE_SINCE).where(saga_visible(channels))
    if state is not None:
        query = query.where(order_saga.c.state == state)
    if stuck is True:
        query = query.where(_stuck(now))
    elif stuck is False:
        query = query.where(~func.coalesce(_stuck(now), false()))
    rows, next_cursor = await SAGAS.page(session, query, limit=limit, cursor=cursor)
    items = [SagaSummaryView(**_summary(r, now)) for r in rows]
    return ReadPage(items=items, next_cursor=next_cursor)


def fulfillment_read(f: Fulfillment, order_number: str) -> FulfillmentView:
    s = f.shipment
    return FulfillmentView(
        id=f.id,
        order_id=f.order_id,
        order_number=order_number,
        location_code=f.location_code,
        method=f.method,
        status=f.status.value,
        allowed_actions=[a.value for a in f.allowed],
        lines=[
            FulfillmentLineView(
                line_id=ln.line_id,
                sku=ln.sku,
                quantity=ln.quantity,
                cancelled=ln.cancelled,
                short=ln.short,
            )
            for ln in f.lines
        ],
        reason=f.reason,
        shipment=ShipmentView(
            shipment_id=s.shipment_id,
            carrier=s.carrier,
            service=s.service,
            tracking_number=s.tracking_number,
            tracking_url=s.tracking_url,
            shipped_at=s.shipped_at,
        )
        if s
        else None,
        history=f.history,
        created_at=f.created_at,
        updated_at=f.updated_at,
    )


_WITH_NUMBER = select(fulfillment_order, order_saga.c.order_number).join(
    order_saga, order_saga.c.order_id == fulfillment_order.c.order_id
)


async def fulfillment(
    session: AsyncSession, fulfillment_id: UUID, *, channels: Codes, locations: Codes
) -> FulfillmentView | None:
    """The fulfilment order, or None when there is none of these channels at these
    locations (None: any)."""
    row = (
        await session.execute(
            _WITH_NUMBER.where(
                fulfillment_order.c.id == fulfillment_id, fulfillment_visible(channels, locations)
            )
        )
    ).one_or_none()
    return fulfillment_read(mappers.fulfillment_from(row), row.order_number) if row else None


async def fulfillments(
    session: AsyncSession,
    *,
    location: str | None,
    status: str | None,
    order_id: UUID | None,
    limit: int,
    cursor: str | None,
    channels: Codes,
    locations: Codes,
) -> ReadPage[FulfillmentView]:
    """Oldest first (a work queue), keyset on (created_at, id); only those of these channels
    at these locations (None: any)."""
    query = _WITH_NUMBER.where(fulfillment_visible(channels, locations))
    if location is not None:
        query = query.where(fulfillment_order.c.location_code == location)
    if status is not None:
        query = query.where(fulfillment_order.c.status == status)
    if order_id is not None:
        query = query.where(fulfillment_order.c.order_id == order_id)
    rows, next_cursor = await FULFILLMENTS.page(session, query, limit=limit, cursor=cursor)
    items = [fulfillment_read(mappers.fulfillment_from(r), r.order_number) for r in rows]
    return ReadPage(items=items, next_cursor=next_cursor)


async def routing_decisions(
    session: AsyncSession, order_id: UUID, *, channels: Codes
) -> list[RoutingDecisionView]:
    """The order's decisions, if its saga is in these channels (None: any)."""
    rows = await session.execute(
        select(routing_decision)
        .join(order_saga, order_saga.c.order_id == routing_decision.c.order_id)
        .where(routing_decision.c.order_id == order_id, saga_visible(channels))
        .order_by(routing_decision.c.round)
    )
    items = []
    for r in rows:
        body = r.body
        items.append(
            RoutingDecisionView(
                id=r.id,
                order_id=r.order_id,
                round=r.round,
                outcome=r.outcome,
                strategy_version=r.strategy_version,
                explanation=r.explanation,
                reason=body.get("reason"),
                meets_requested_date=body.get("meets_requested_date"),
                decided_at=r.decided_at,
                candidates=readable_candidates(body),
                parts=body["parts"],
                request=body["request"],
            )
        )
    return items


async def payment_operations(
    session: AsyncSession, order_id: UUID, *, channels: Codes
) -> list[PaymentOperationView]:
    """The order's payment calls, if its saga is in these channels (None: any)."""
    rows = await session.execute(
        select(payment_operation)
        .join(order_saga, order_saga.c.order_id == payment_operation.c.order_id)
        .where(payment_operation.c.order_id == order_id, saga_visible(channels))
        .order_by(payment_operation.c.created_at, payment_operation.c.id)
    )
    items = []
    for r in rows:
        op = mappers.operation_from(r)
        items.append(
            PaymentOperationView(
                id=op.id,
                kind=op.kind.value,
                status=op.status.value,
                amount=_money(op.amount, op.currency),
                currency=op.currency,
                attempts=op.attempts,
                code=op.code,
                reason=op.reason,
                reference=op.reference,
                shipment_id=op.shipment_id,
                refund_id=op.refund_id,
                created_at=op.created_at,
                completed_at=op.completed_at,
            )
        )
    return items
