"""Bulk stock import, the apply: a queued import is applied in one transaction, set-wise,
one chunk of rows after another in the global lock order, with its progress reported from a
second connection. all_or_nothing applies every row or none; partial skips rows that cannot
be applied and reports them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

from libs.bus.message_bus import MessageBus
from libs.jobs import PeriodicJob
from services.inventory.domain import events
from services.inventory.domain.commands import ApplyImport
from services.inventory.domain.import_rows import RowError
from services.inventory.domain.imports import (
    CRASHED,
    PENDING,
    ChangedRow,
    FailImport,
    ImportMode,
    ImportState,
    ImportStatus,
    SkuChange,
    below_reserved,
)
from services.inventory.domain.stock import Reason, StockLevel, TouchedLevel
from services.inventory.service_layer.handlers.stock_effects import stock_alerts
from services.inventory.service_layer.unit_of_work import ImportBatch, ImportProgress, UnitOfWork

# The imports waiting for the apply job, oldest first, at most `limit` of them: read by the
# job outside any unit of work (bootstrap wires the query).
PendingImports = Callable[[int], Awaitable[list[UUID]]]

APPLY_CHUNK_ROWS = 5_000
EVENT_PAGE_ROWS = 5_000
CANDIDATES = 10


@dataclass
class _Run:
    """One import being applied: where it stands, and how to report it."""

    state: ImportState
    batch: ImportBatch
    progress: ImportProgress
    now: datetime

    @property
    def reference(self) -> str:
        return f"import:{self.state.id}"


async def apply_import(cmd: ApplyImport, uow: UnitOfWork) -> bool:
    """Apply a queued import; False if it is not there to take (done, or another worker's)."""
    imports = uow.imports
    if not await imports.try_lock(cmd.import_id):
        return False
    state = await imports.get(cmd.import_id)
    if state is None or state.status not in PENDING:
        return False
    run = _Run(state, uow.import_batch(), uow.import_progress(), uow.clock.now())
    await run.progress.report(
        state.id, now=run.now, status=ImportStatus.APPLYING.value, rows_applied=0
    )
    chunks = await run.batch.prepare(state.id, chunk_rows=APPLY_CHUNK_ROWS)
    # The savepoint lets all_or_nothing undo its work and still record why, in this
    # transaction and under the claim it holds.
    savepoint = await uow.savepoint()
    applied, short = await _apply_chunks(run, chunks)
    if short and state.mode is ImportMode.ALL_OR_NOTHING:
        await savepoint.rollback()
        reason = f"{len(short)} row(s) would take on_hand below reserved; nothing was applied"
        await imports.fail(state.id, reason=reason, now=run.now, errors=short)
        return True
    await savepoint.commit()
    await _announce(uow, run.batch)
    await imports.complete(state.id, rows_applied=applied, errors=short, now=run.now)
    return True


async def _apply_chunks(run: _Run, chunks: int) -> tuple[int, list[RowError]]:
    applied, short = 0, []
    all_or_nothing = run.state.mode is ImportMode.ALL_OR_NOTHING
    for chunk in range(chunks):
        locked = await run.batch.lock_chunk(chunk, now=run.now)
        found = [
            below_reserved(r.line_number, on_hand=r.on_hand, reserved=r.reserved)
            for r in await run.batch.below_reserved(chunk)
        ]
        short += found
        if all_or_nothing and short:
            # Nothing will be applied; the remaining chunks are only checked, so the report
            # names every row that stood in the way, not just the first.
            continue
        await run.batch.drop_lines([e.line_number for e in found])
        await run.batch.apply_chunk(chunk, reference=run.reference, now=run.now)
        applied += locked - len(found)
        await run.progress.report(run.state.id, now=run.now, rows_applied=applied)
    return applied, short


async def _announce(uow: UnitOfWork, batch: ImportBatch) -> None:
    """A stock_changed event per changed row and any crossed alert, written page by page.

    SKUs with an order waiting at one of their changed rows go the ordinary way instead: into
    the unit of work's touched rows, which serves the waiting lines at commit and then
    announces those rows (and the SKU's alerts) with the units it handed out.
    """
    skus = {s.sku: s for s in await batch.changed_skus()}
    async for page in batch.changed_rows(page_size=EVENT_PAGE_ROWS):
        changed: list[events.InventoryEvent] = []
        for row in page:
            touched = _touched(row)
            sku = skus[row.sku]
            if sku.waiting:
                uow.stock.adopt(touched)
            else:
                changed.append(
                    events.StockChanged.of(touched, network_available=sku.network_available)
                )
        await uow.write_events_now(changed)
    await uow.write_events_now(_alerts(s for s in skus.values() if not s.waiting))


def _touched(row: ChangedRow) -> TouchedLevel:
    level = StockLevel(row.location_code, row.sku, row.on_hand, row.reserved, row.safety_stock)
    reasons = [Reason.IMPORTED.value] if row.on_hand_changed else []
    if row.safety_stock_changed:
        reasons.append("safety_stock")
    return TouchedLevel(level, row.available_before, reasons)


def _alerts(skus: Iterable[SkuChange]) -> list[events.InventoryEvent]:
    return [
        alert
        for s in skus
        for alert in stock_alerts(
            s.sku, network_available=s.network_available, change=s.change, threshold=s.threshold
        )
    ]


async def apply_next_import(*, bus: MessageBus, pending: PendingImports) -> int:
    """One pass of the job: apply the oldest import no worker holds; 1 if one was applied.

    Already safe with several processes: an import is applied in one transaction that holds
    its advisory lock (see StockImports.try_lock) and re-checks its status under it, so a
    second process skips an import being applied, and finds an applied one done. A process
    that dies mid-apply rolls back and frees the lock with its connection: the import is
    still pending, for any process to apply."""
    due = await pending(CANDIDATES)
    for import_id in due:
        if await _apply(bus, import_id):
            return 1
    return 0


async def _apply(bus: MessageBus, import_id: UUID) -> bool:
    try:
        return bool(await bus.handle(ApplyImport(import_id=import_id)))
    except Exception:
        # An error that would recur on every attempt must not hold the import (and the job)
        # for ever: the import fails with nothing applied, and the job logs the error.
        await bus.handle(FailImport(import_id=import_id, reason=CRASHED))
        raise


def apply_imports_job(
    *, bus: MessageBus, pending: PendingImports, interval_s: float
) -> PeriodicJob:
    return PeriodicJob(
        name="apply-stock-imports",
        interval_s=interval_s,
        run_once=partial(apply_next_import, bus=bus, pending=pending),
    )
