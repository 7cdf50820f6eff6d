"""Loads and saves order sagas with their fulfilment orders and payment calls.

Every change to an order goes through its saga row, locked FOR UPDATE first, then its
fulfilment orders: one lock order for every writer, so concurrent reports about one order
queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    DateTime,
    Text,
    bindparam,
    column,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.db.arrays import (
    JsonText,
    column_arrays,
    types_of,
    unnest_insert,
    unnest_update,
)
from libs.db.driver import execute, fetch, fields
from libs.db.engine import json_text
from libs.db.narrowing import Codes
from services.orchestration.adapters import mappers
from services.orchestration.adapters.narrowing import fulfillment_visible
from services.orchestration.adapters.payment_tokens import tokens_of
from services.orchestration.adapters.tables import (
    fulfillment_order,
    order_saga,
    payment_operation,
    routing_decision,
)
from services.orchestration.domain.fulfillment import Fulfillment
from services.orchestration.domain.payments import PaymentOperation
from services.orchestration.domain.saga import OrderSaga, SagaPolicy

# The statements a busy unit of work runs with many rows: one fixed text whatever the number
# (libs.db.arrays), rather than a row's worth of parameters each.
_SAGA_COLUMNS = {
    "order_id": "uuid",
    "order_number": "text",
    "channel": "text",
    "state": "text",
    "updated_at": "timestamptz",
    "due_at": "timestamptz",
    "deadline_at": "timestamptz",
    "dispatch_due_at": "timestamptz",
    "data": "jsonb",
    "version": "int",
}
_UPDATE_SAGAS = unnest_update("order_saga", "order_id", _SAGA_COLUMNS)
# One lock order for every writer: sagas by order id, then their fulfilment orders.
_LOCK_SAGAS = text(
    "SELECT * FROM order_saga WHERE order_id = ANY(CAST(:ids AS uuid[]))"
    " ORDER BY order_id FOR UPDATE"
)
_SAGAS = text("SELECT * FROM order_saga WHERE order_id = ANY(CAST(:ids AS uuid[]))")
_OPERATION_FOR_UPDATE = text(
    "SELECT * FROM payment_operation WHERE id = CAST(:id AS uuid) FOR UPDATE"
)
# The pending calls of sagas this unit of work holds, locked after them (the one lock order:
# saga, then its operations): a batch of payment answers reads its operations in one go.
_PENDING_OPERATIONS_FOR_UPDATE = text(
    "SELECT * FROM payment_operation WHERE order_id = ANY(CAST(:ids AS uuid[]))"
    " AND status = 'pending' ORDER BY id FOR UPDATE"
)
# Due calls no other transaction holds, moved a lease ahead: this caller's to make until then.
_CLAIM_OPERATIONS = text(
    """UPDATE payment_operation SET next_attempt_at = CAST(:until AS timestamptz)
    WHERE id IN (
        SELECT id FROM payment_operation
        WHERE status = 'pending' AND next_attempt_at <= CAST(:now AS timestamptz)
        ORDER BY next_attempt_at LIMIT CAST(:limit AS int) FOR UPDATE SKIP LOCKED
    )
    RETURNING *"""
)
# The sagas the worker plans when they are due: routing, and waiting for stock.
_PLANNED_BY_WORKER = ("routing", "waiting_for_stock")
# Waiting orders one of whose SKUs the view's stock changed for since the order last looked,
# with stock there now (on hand or incoming), are due at once. Rows another transaction holds
# are skipped (it is acting on them; no lock waits, no lock cycles), and a change that
# committed while the order was looking can be missed: the order's periodic recheck then
# finds it.
_WAKE_WAITING = text(
    """
    UPDATE order_saga SET due_at = :now WHERE order_id IN (
      SELECT s.order_id FROM order_saga s
      WHERE s.state = 'waiting_for_stock' AND s.due_at > :now
        AND EXISTS (
          SELECT 1 FROM jsonb_array_elements(s.data -> 'order' -> 'lines') line
          JOIN routing_stock r ON r.sku = line ->> 'sku'
          WHERE r.changed_at > s.updated_at AND (r.available > 0 OR r.incoming > 0))
      ORDER BY s.order_id FOR UPDATE SKIP LOCKED)
    """
)
_WAKE_ALL_WAITING = text(
    """
    UPDATE order_saga SET due_at = :now WHERE order_id IN (
      SELECT order_id FROM order_saga WHERE state = 'waiting_for_stock' AND due_at > :now
      ORDER BY order_id FOR UPDATE SKIP LOCKED)
    """
)
_LOCK_FULFILLMENTS = text(
    "SELECT * FROM fulfillment_order WHERE order_id = ANY(CAST(:ids AS uuid[]))"
    " ORDER BY order_id, created_at, id FOR UPDATE"
)
_NEW_SAGA_COLUMNS = {**_SAGA_COLUMNS, "started_at": "timestamptz"}
_ADD_SAGA = unnest_insert(
    "order_saga", _NEW_SAGA_COLUMNS, suffix="ON CONFLICT DO NOTHING RETURNING order_id"
)
_FULFILLMENT_COLUMNS = types_of(
    fulfillment_order, ("id", "location_code", "method", "status", "version", "updated_at", "data")
)
_UPDATE_FULFILLMENT = unnest_update("fulfillment_order", "id", _FULFILLMENT_COLUMNS)
_NEW_FULFILLMENT_COLUMNS = {
    **_FULFILLMENT_COLUMNS,
    **types_of(fulfillment_order, ("order_id", "created_at")),
}
_INSERT_FULFILLMENT = unnest_insert("fulfillment_order", _NEW_FULFILLMENT_COLUMNS)
_OPERATION_COLUMNS = types_of(
    payment_operation,
    (
        "id",
        "order_id",
        "kind",
        "status",
        "amount",
        "currency",
        "attempts",
        "next_attempt_at",
        "created_at",
        "completed_at",
        "data",
    ),
)
_UPDATE_OPERATION = unnest_update("payment_operation", "id", _OPERATION_COLUMNS)
_INSERT_OPERATIONS = unnest_insert(
    "payment_operation", _OPERATION_COLUMNS, suffix="ON CONFLICT DO NOTHING"
)
_STEP_COLUMNS = {"order_id": "uuid", "name": "text", "at": "timestamptz", "detail": "text"}
_INSERT_STEPS = unnest_insert("saga_step", _STEP_COLUMNS)
# From the table, so the body is sent as the json it is stored as: cast to jsonb on its way
# in, PostgreSQL parsed every ~12 KB body only to print it back (750 bodies: 396 ms as
# jsonb[], 69 ms as json[]).
_DECISION_COLUMNS = types_of(
    routing_decision,
    (
        "id",
        "order_id",
        "round",
        "outcome",
        "strategy_version",
        "explanation",
        "decided_at",
        "body",
    ),
)
_INSERT_DECISIONS = unnest_insert(
    "routing_decision", _DECISION_COLUMNS, suffix="ON CONFLICT DO NOTHING"
)


class SagaRepository:
    def __init__(self, session: AsyncSession, policy: SagaPolicy | None = None) -> None:
        self._session = session
        self.policy = policy or SagaPolicy()  # given to every saga it loads
        self._loaded: dict[UUID, int] = {}  # fulfilment id -> version as loaded
        self.seen: list[OrderSaga] = []  # their events go to the outbox at commit
        self.written_steps: list[str] = []  # step names this unit of work recorded
        self._decisions: list[dict[str, Any]] = []  # routing decisions, written at commit
        # Sagas loaded FOR UPDATE (or added) in this unit of work, None for orders with none:
        # a batch's second command about an order works on what the first left.
        self._locked: dict[UUID, OrderSaga | None] = {}
        # Written at commit (flush): sagas to update, and sagas whose steps, fulfilment
        # orders and payment calls are to be written, each once, all of a batch together.
        self._new: dict[UUID, OrderSaga] = {}  # added: inserted first at flush
        self._saved: dict[UUID, OrderSaga] = {}
        self._children: dict[UUID, OrderSaga] = {}
        # Payment calls read FOR UPDATE in this unit of work (by id), and those changed, to
        # write at commit in one statement: the worker applies a batch of answers together.
        self._operations: dict[UUID, PaymentOperation] = {}
        self._pending_read_for: set[UUID] = set()  # sagas whose pending calls are read
        self._changed_operations: dict[UUID, PaymentOperation] = {}

    def holds(self, order_id: UUID) -> bool:
        """Whether this unit of work holds the order's saga already (locked, as a batch's
        are before its handlers run, or added): a start of the order changes nothing then."""
        return self._locked.get(order_id) is not None

    def add(self, saga: OrderSaga) -> None:
        """A new saga, inserted at commit (flush) with the others of this unit of work. An
        order that has one already keeps it: this one is dropped then, with everything it
        staged (a start delivered twice, under two event ids, starts one saga)."""
        if self.holds(saga.order_id):  # it has one
            self.unstage_decisions(saga.order_id)
            return
        self._new[saga.order_id] = saga
        self.seen.append(saga)
        self._locked[saga.order_id] = saga
        self._children[saga.order_id] = saga

    async def _insert_new(self) -> None:
        new, self._new = list(self._new.values()), {}
        if not new:
            return
        rows = [
            {**self._columns(saga), "started_at": saga.started_at, "version": max(saga.version, 1)}
            for saga in new
        ]
        added = await fetch(self._session, _ADD_SAGA, column_arrays(rows, _NEW_SAGA_COLUMNS))
        inserted = {record["order_id"] for record in added}
        for saga in new:
            if saga.order_id not in inserted:
                self._drop(saga)
            else:
                self._saved.pop(saga.order_id, None)  # inserted as it is now

    def _drop(self, saga: OrderSaga) -> None:
        """Forget a saga that was not inserted: nothing of it is written or announced."""
        self.seen = [s for s in self.seen if s is not saga]
        self._saved.pop(saga.order_id, None)
        self._children.pop(saga.order_id, None)
        del self._locked[saga.order_id]  # read from the database if asked for again
        self.unstage_decisions(saga.order_id)

    async def get_for_update(self, order_id: UUID) -> OrderSaga | None:
        if order_id not in self._locked:
            await self.lock_many([order_id])
        return self._locked[order_id]

    async def lock_many(self, order_ids: Iterable[UUID]) -> None:
        """Loads and locks these sagas, then their fulfilment orders (one lock order for every
        writer: sagas by order id, then their fulfilments), two statements for all of them: a
        consumer's batch and the payment worker's answers load theirs up front."""
        wanted = sorted(set(order_ids) - set(self._locked))
        if not wanted:
            return
        rows = [fields(r) for r in await fetch(self._session, _LOCK_SAGAS, {"ids": wanted})]
        self._locked.update(dict.fromkeys(wanted))
        if rows:
            await self._with_fulfillments(rows)

    async def _with_fulfillments(self, rows: Sequence[Any]) -> list[OrderSaga]:
        """The sagas of rows locked FOR UPDATE, with their fulfilment orders locked after them."""
        found: dict[UUID, list[Fulfillment]] = {row.order_id: [] for row in rows}
        for record in await fetch(self._session, _LOCK_FULFILLMENTS, {"ids": list(found)}):
            r = fields(record)
            found[r.order_id].append(mappers.fulfillment_from(r))
        sagas = []
        for row in rows:
            fulfillments = found[row.order_id]
            self._loaded.update({f.id: f.version for f in fulfillments})
            saga = mappers.saga_from(row, fulfillments)
            saga.policy = self.policy
            self.seen.append(saga)
            self._locked[saga.order_id] = saga
            sagas.append(saga)
        return sagas

    async def get_many(self, order_ids: Sequence[UUID]) -> dict[UUID, OrderSaga]:
        """Read without a lock, for the worker's calls outside any transaction."""
        if not order_ids:
            return {}
        rows = await fetch(self._session, _SAGAS, {"ids": list(order_ids)})
        return {row.order_id: mappers.saga_from(row, []) for row in map(fields, rows)}

    async def payment_tokens(self, order_ids: Sequence[UUID]) -> dict[UUID, str | None]:
        """The payment tokens order-capture sent for these orders (those that came)."""
        return await tokens_of(self._session, order_ids)

    async def get(self, order_id: UUID) -> OrderSaga | None:
        """Read without a lock, for the worker's planning outside any transaction."""
        row = (
            await self._session.execute(select(order_saga).where(order_saga.c.order_id == order_id))
        ).one_or_none()
        return mappers.saga_from(row, []) if row is not None else None

    async def order_of_fulfillment(
        self, fulfillment_id: UUID, *, channels: Codes, locations: Codes
    ) -> UUID | None:
        """The order of a fulfilment order of these channels at these locations (None: any);
        None when there is no such fulfilment order, for the caller that asks."""
        found: UUID | None = await self._session.scalar(
            select(fulfillment_order.c.order_id)
            .join(order_saga, order_saga.c.order_id == fulfillment_order.c.order_id)
            .where(fulfillment_order.c.id == fulfillment_id)
            .where(fulfillment_visible(channels, locations))
        )
        return found

    async def save(self, saga: OrderSaga) -> None:
        """Written at commit (flush), with every other saga the unit of work saved."""
        saga.version += 1
        self._saved[saga.order_id] = saga
        self._children[saga.order_id] = saga

    async def flush(self) -> None:
        """The added sagas and the saved ones (one statement each), then their new steps,
        fulfilment orders and payment calls (one each)."""
        await self._insert_new()  # first: the other rows refer to the saga's
        saved, self._saved = list(self._saved.values()), {}
        children, self._children = list(self._children.values()), {}
        if saved:
            rows = [{**self._columns(saga), "version": saga.version} for saga in saved]
            await execute(self._session, _UPDATE_SAGAS, column_arrays(rows, _SAGA_COLUMNS))
        steps: list[dict[str, Any]] = [
            {"order_id": saga.order_id, "name": step.name, "at": step.at, "detail": step.detail}
            for saga in children
            for step in saga.new_steps
        ]
        if steps:
            self.written_steps.extend(step["name"] for step in steps)
            await execute(self._session, _INSERT_STEPS, column_arrays(steps, _STEP_COLUMNS))
        for saga in children:
            saga.new_steps.clear()
        await self._write_fulfillments([f for saga in children for f in saga.fulfillments])
        changed, self._changed_operations = self._changed_operations, {}
        if changed:
            rows = [mappers.operation_row(op) for op in changed.values()]
            await execute(self._session, _UPDATE_OPERATION, column_arrays(rows, _OPERATION_COLUMNS))
        operations = [mappers.operation_row(op) for saga in children for op in saga.new_operations]
        if operations:
            await execute(
                self._session, _INSERT_OPERATIONS, column_arrays(operations, _OPERATION_COLUMNS)
            )
        for saga in children:
            saga.new_operations.clear()

    def _columns(self, saga: OrderSaga) -> dict[str, Any]:
        return {
            "order_id": saga.order_id,
            "order_number": saga.order.order_number,
            "channel": saga.order.channel,
            "state": saga.state.value,
            "updated_at": saga.updated_at,
            "due_at": saga.due_at,
            "deadline_at": saga.deadline_at,
            "dispatch_due_at": saga.dispatch_due_at,
            "data": mappers.saga_data(saga),
        }

    async def _write_fulfillments(self, changed: Sequence[Fulfillment]) -> None:
        """The new and the changed fulfilment orders: a statement for each kind at most."""
        new: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        for f in changed:
            loaded = self._loaded.get(f.id)
            if loaded == f.version:
                continue
            values = {
                "id": f.id,
                "location_code": f.location_code,
                "method": f.method,
                "status": f.status.value,
                "version": f.version,
                "updated_at": f.updated_at,
                "data": mappers.fulfillment_data(f),
            }
            if loaded is None:
                new.append({**values, "order_id": f.order_id, "created_at": f.created_at})
            else:
                updated.append(values)
            self._loaded[f.id] = f.version
        if new:
            await execute(
                self._session, _INSERT_FULFILLMENT, column_arrays(new, _NEW_FULFILLMENT_COLUMNS)
            )
        if updated:
            await execute(
                self._session, _UPDATE_FULFILLMENT, column_arrays(updated, _FULFILLMENT_COLUMNS)
            )

    # --- the worker's queues ---------------------------------------------------------------
    # Several processes run the worker, so each takes its work with a claim: one statement
    # picks due rows that no other transaction holds (SKIP LOCKED) and moves their due time a
    # lease ahead, and the claim commits before the worker calls out (inventory, the payment
    # provider). To every other process the rows are not due until the lease runs out. The
    # answer is applied in a transaction of its own that re-checks the saga and sets the due
    # time anew (or moves the saga on); a process that dies holding a claim leaves the work
    # due again once its lease has lapsed.

    async def wake_waiting(self, now: datetime) -> int:
        """Waiting orders that stock which could serve them has changed for are due now."""
        result = await self._session.execute(_WAKE_WAITING, {"now": now})
        return int(getattr(result, "rowcount", 0) or 0)

    async def wake_all_waiting(self, now: datetime) -> int:
        """Every waiting order is due now (a location became active, the strategy changed)."""
        result = await self._session.execute(_WAKE_ALL_WAITING, {"now": now})
        return int(getattr(result, "rowcount", 0) or 0)

    async def claim_due_for_routing(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[OrderSaga]:
        """Up to `limit` sagas due for routing, oldest due first, now this caller's to route
        until `now + lease` (read like `get`: without their fulfilment orders)."""
        due = (
            select(order_saga.c.order_id)
            .where(order_saga.c.state.in_(_PLANNED_BY_WORKER), order_saga.c.due_at <= now)
            .order_by(order_saga.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await self._session.execute(
            update(order_saga)
            .where(order_saga.c.order_id.in_(due.scalar_subquery()))
            .values(due_at=now + lease)
            .returning(*order_saga.c)
        )
        return [mappers.saga_from(row, []) for row in rows]

    async def next_overdue_for_update(self, now: datetime) -> OrderSaga | None:
        """The saga longest past its deadline that no other transaction holds, locked like
        `get_for_update`. The sweep calls nothing outside, so the row lock of its own
        transaction is claim enough: a second process's sweep skips it and takes the next."""
        row = (
            await self._session.execute(
                select(order_saga)
                .where(or_(order_saga.c.deadline_at <= now, order_saga.c.dispatch_due_at <= now))
                .order_by(func.least(order_saga.c.deadline_at, order_saga.c.dispatch_due_at))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).one_or_none()
        if row is None:
            return None
        (saga,) = await self._with_fulfillments([row])
        return saga

    async def claim_due_operations(
        self, now: datetime, limit: int, *, lease: timedelta
    ) -> list[PaymentOperation]:
        """Up to `limit` pending payment calls that are due, now this caller's to make until
        `now + lease`, in the order they were queued."""
        rows = await fetch(
            self._session,
            _CLAIM_OPERATIONS,
            {"now": now, "until": now + lease, "limit": limit},
        )
        return sorted(
            (mappers.operation_from(r) for r in map(fields, rows)), key=lambda op: op.created_at
        )

    async def operation_for_update(self, op_id: UUID) -> PaymentOperation | None:
        """The payment call, locked; the pending calls of every saga this unit of work holds
        are read with it (one statement for a batch of answers), and one read before is
        answered as this unit of work left it."""
        if op_id not in self._operations:
            holding = {i for i, saga in self._locked.items() if saga is not None}
            unread = sorted(holding - self._pending_read_for)
            if unread:
                self._pending_read_for.update(unread)
                for record in await fetch(
                    self._session, _PENDING_OPERATIONS_FOR_UPDATE, {"ids": unread}
                ):
                    op = mappers.operation_from(fields(record))
                    self._operations.setdefault(op.id, op)
        if op_id not in self._operations:  # not pending, or of a saga not held
            rows = await fetch(self._session, _OPERATION_FOR_UPDATE, {"id": op_id})
            if not rows:
                return None
            self._operations[op_id] = mappers.operation_from(fields(rows[0]))
        return self._operations[op_id]

    async def save_operation(self, op: PaymentOperation) -> None:
        """Written at commit (flush), with every other call the unit of work changed."""
        self._operations[op.id] = op
        self._changed_operations[op.id] = op

    async def fulfillments_created_since(self, since: dict[str, datetime]) -> dict[str, int]:
        """Fulfilment orders each location was given since its own start of day (those this
        unit of work made included)."""
        if not since:
            return {}
        await self.flush()
        # Arrays bound as parameters, not a VALUES list of literals: the statement is then
        # the same every time, and SQLAlchemy compiles it once instead of per routing.
        codes, starts = zip(*sorted(since.items()), strict=True)
        days = (
            func.unnest(
                bindparam("codes", list(codes), type_=ARRAY(Text)),
                bindparam("starts", list(starts), type_=ARRAY(DateTime(timezone=True))),
            )
            .table_valued(column("code", Text), column("since", DateTime(timezone=True)))
            .render_derived(name="days", with_types=False)
        )
        # A count per location, each an index range scan on (location, created_at). As one
        # join and GROUP BY, the planner hashed the whole index: 94 ms with a million
        # fulfilment orders, against 2 ms this way.
        given_since = (
            select(func.count())
            .where(
                fulfillment_order.c.location_code == days.c.code,
                fulfillment_order.c.created_at >= days.c.since,
            )
            .scalar_subquery()
        )
        rows = await self._session.execute(select(days.c.code, given_since))
        return {code: count for code, count in rows}

    def stage_decision(self, values: dict[str, Any]) -> None:
        """A routing decision to store at commit (with the others of this unit of work, in
        one statement). Its body is kept as JSON text at once: a consumer's batch holds every
        decision until its commit, and a hundred candidates' rows as objects were ~65 kB an
        order (~11 kB as text)."""
        self._decisions.append({**values, "body": JsonText(json_text(values["body"]))})

    def unstage_decisions(self, order_id: UUID) -> None:
        self._decisions = [d for d in self._decisions if d["order_id"] != order_id]

    async def write_decisions(self) -> None:
        if self._decisions:
            decisions, self._decisions = self._decisions, []
            await execute(
                self._session, _INSERT_DECISIONS, column_arrays(decisions, _DECISION_COLUMNS)
            )

    async def fulfillment(
        self, fulfillment_id: UUID, *, channels: Codes, locations: Codes
    ) -> Fulfillment | None:
        """Read without a lock; None when there is none of these channels at these locations
        (None: any)."""
        row = (
            await self._session.execute(
                select(fulfillment_order)
                .join(order_saga, order_saga.c.order_id == fulfillment_order.c.order_id)
                .where(fulfillment_order.c.id == fulfillment_id)
                .where(fulfillment_visible(channels, locations))
            )
        ).one_or_none()
        return mappers.fulfillment_from(row) if row is not None else None


@asynccontextmanager
async def saga_queues(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[SagaRepository]:
    """The saga worker's queues (service_layer.unit_of_work.SagaQueues) in a transaction of
    their own, committed on leaving: a claim commits before the worker calls out."""
    async with sessions.begin() as session:
        yield SagaRepository(session)
