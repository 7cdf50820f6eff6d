"""Bulk stock import, the upload: the file streams in, is read line by line and staged in
chunks, each chunk one short transaction, so GET shows the import's progress while it
arrives. The apply job (import_apply.py) does the rest."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable
from uuid import UUID

from libs.bus.message_bus import Handler, MessageBus
from libs.errors import DomainError
from libs.ids import new_id
from services.inventory.domain.commands import ApplyImport
from services.inventory.domain.errors import ImportNotFound, ImportTooLarge
from services.inventory.domain.import_rows import (
    MAX_ROWS,
    ImportFormat,
    Item,
    RowError,
    RowReader,
    StagedRow,
)
from services.inventory.domain.imports import (
    INTERRUPTED,
    TOO_LARGE,
    UNFINISHED,
    FailImport,
    FinishUpload,
    ImportMode,
    ImportStatus,
    StageImportRows,
    StartImport,
    unknown_location,
    upload_outcome,
)
from services.inventory.service_layer.handlers.common import replayed
from services.inventory.service_layer.handlers.import_apply import apply_import
from services.inventory.service_layer.unit_of_work import UnitOfWork

STAGE_ROWS = 2_000
SCOPE = "stock-import"


async def receive_import(
    body: AsyncIterable[bytes],
    *,
    bus: MessageBus,
    mode: ImportMode,
    fmt: ImportFormat,
    idempotency_key: str | None = None,
) -> UUID:
    """Stage the streamed file and queue it; returns the import's id (for a repeated
    Idempotency-Key, the first import's). Over MAX_ROWS rows: ImportTooLarge, import failed."""
    import_id: UUID = await bus.handle(StartImport(mode=mode, format=fmt))
    try:
        fingerprint, failure = await _stage_file(
            body, bus=bus, import_id=import_id, mode=mode, fmt=fmt
        )
        finished: UUID = await bus.handle(
            FinishUpload(
                import_id=import_id,
                failure=failure,
                idempotency_key=idempotency_key,
                fingerprint=fingerprint,
            )
        )
    except DomainError as exc:
        # Too large, or a reused Idempotency-Key: the import stays on record as failed.
        await bus.handle(FailImport(import_id=import_id, reason=exc.detail))
        raise
    except Exception:
        await bus.handle(FailImport(import_id=import_id, reason=INTERRUPTED))
        raise
    return finished


async def _stage_file(
    body: AsyncIterable[bytes],
    *,
    bus: MessageBus,
    import_id: UUID,
    mode: ImportMode,
    fmt: ImportFormat,
) -> tuple[str, str | None]:
    """Read and stage the whole file; returns a hash of it and why it is unreadable, if so."""
    reader = RowReader(fmt)
    # The key's fingerprint: the same bytes in another mode or format are another request.
    digest = hashlib.sha256(f"{mode.value}\n{fmt.value}\n".encode())
    waiting: list[Item] = []
    async for data in body:
        digest.update(data)
        waiting += reader.feed(data)
        _refuse_if_too_large(reader, import_id)
        if reader.fatal is not None:
            break
        waiting = await _stage_full_chunks(bus, import_id, waiting)
    else:
        waiting += reader.finish()
        _refuse_if_too_large(reader, import_id)
    for start in range(0, len(waiting), STAGE_ROWS):
        await _stage(bus, import_id, waiting[start : start + STAGE_ROWS])
    return digest.hexdigest(), reader.fatal


def _refuse_if_too_large(reader: RowReader, import_id: UUID) -> None:
    if reader.data_rows > MAX_ROWS:
        raise ImportTooLarge(TOO_LARGE, import_id=str(import_id), max_rows=MAX_ROWS)


async def _stage_full_chunks(bus: MessageBus, import_id: UUID, items: list[Item]) -> list[Item]:
    while len(items) >= STAGE_ROWS:
        await _stage(bus, import_id, items[:STAGE_ROWS])
        items = items[STAGE_ROWS:]
    return items


async def _stage(bus: MessageBus, import_id: UUID, items: list[Item]) -> None:
    rows = tuple(i for i in items if isinstance(i, StagedRow))
    errors = tuple(i for i in items if isinstance(i, RowError))
    await bus.handle(StageImportRows(import_id=import_id, rows=rows, errors=errors))


# --- handlers -----------------------------------------------------------------------------


async def start_import(cmd: StartImport, uow: UnitOfWork) -> UUID:
    """Record a new import, `receiving`, so its progress shows from the first chunk on."""
    import_id = new_id()
    await uow.imports.add(import_id, mode=cmd.mode, fmt=cmd.format, now=uow.clock.now())
    return import_id


async def stage_import_rows(cmd: StageImportRows, uow: UnitOfWork) -> None:
    """Stage one chunk; rows naming no location become errors here (one query a chunk)."""
    codes = {r.location_code for r in cmd.rows}
    known = await uow.locations.existing(codes) if codes else set()
    rows = [r for r in cmd.rows if r.location_code in known]
    errors = [*cmd.errors, *(unknown_location(r) for r in cmd.rows if r.location_code not in known)]
    imports = uow.imports
    await imports.stage(cmd.import_id, rows)
    await imports.record_errors(cmd.import_id, errors)
    await imports.count_received(
        cmd.import_id,
        received=len(cmd.rows) + len(cmd.errors),
        invalid=len(errors),
        now=uow.clock.now(),
    )


async def finish_upload(cmd: FinishUpload, uow: UnitOfWork) -> UUID:
    """Queue the received file for the apply job, or fail it now if it cannot succeed."""
    imports = uow.imports
    if (prior := await replayed(uow, SCOPE, cmd)) is not None:
        # The same file again under the same key: this copy goes, the first one answers.
        await imports.delete(cmd.import_id)
        return UUID(prior)
    state = await imports.get(cmd.import_id)
    if state is None:
        raise ImportNotFound(f"no stock import {cmd.import_id}")
    status, reason = upload_outcome(
        state.mode,
        rows_received=state.rows_received,
        rows_invalid=state.rows_invalid,
        failure=cmd.failure,
    )
    now = uow.clock.now()
    if status is ImportStatus.FAILED:
        await imports.fail(cmd.import_id, reason=reason or "", now=now)
    else:
        await imports.queue(cmd.import_id, now=now)
    await uow.idempotency.complete(resource_id=str(cmd.import_id), status=202)
    return cmd.import_id


async def fail_import(cmd: FailImport, uow: UnitOfWork) -> None:
    """End an unfinished import as failed, nothing applied; a worker applying it wins."""
    imports = uow.imports
    if not await imports.try_lock(cmd.import_id):
        return
    state = await imports.get(cmd.import_id)
    if state is not None and state.status in UNFINISHED:
        await imports.fail(cmd.import_id, reason=cmd.reason, now=uow.clock.now())


# The import use cases for the bus; applying writes its many events in pages itself.
IMPORT_HANDLERS: dict[type, Handler] = {
    StartImport: start_import,
    StageImportRows: stage_import_rows,
    FinishUpload: finish_upload,
    FailImport: fail_import,
    ApplyImport: apply_import,
}
