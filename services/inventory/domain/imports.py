"""Bulk stock imports: their lifecycle, and the commands of an upload.

An upload streams in (`receiving`: rows are staged chunk by chunk, each chunk its own short
transaction, so progress shows while the file arrives), then waits (`queued`) until the apply
job takes it (`applying`) and applies it in one transaction (`completed`), or it `failed`
with a reason and nothing applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from services.inventory.domain.commands import Idempotent
from services.inventory.domain.errors import UnsupportedImportFormat
from services.inventory.domain.import_rows import MAX_ROWS, ImportFormat, RowError, StagedRow

TOO_LARGE = f"the file holds more than {MAX_ROWS} rows; nothing was applied"
INTERRUPTED = "the upload was interrupted before the file was complete"
CRASHED = "the import could not be applied (internal error); nothing was applied"


class ImportMode(StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    PARTIAL = "partial"


class ImportStatus(StrEnum):
    RECEIVING = "receiving"
    QUEUED = "queued"
    APPLYING = "applying"
    COMPLETED = "completed"
    FAILED = "failed"


# Imports the apply job may (still) take; `applying` too, so one a crashed worker left behind
# is picked up again (its transaction rolled back, so nothing of it was applied).
PENDING = (ImportStatus.QUEUED, ImportStatus.APPLYING)
UNFINISHED = (ImportStatus.RECEIVING, *PENDING)

MEDIA_TYPES = {
    "text/csv": ImportFormat.CSV,
    "application/x-ndjson": ImportFormat.NDJSON,
    "application/jsonl": ImportFormat.NDJSON,
}


def format_of(content_type: str | None) -> ImportFormat:
    """The file format a Content-Type names; parameters such as charset are ignored."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise UnsupportedImportFormat(
            f"Content-Type {media_type or '(none)'!r} is not text/csv or application/x-ndjson",
            accepted=sorted(MEDIA_TYPES),
        )
    return MEDIA_TYPES[media_type]


def unknown_location(row: StagedRow) -> RowError:
    return RowError(row.line_number, f"unknown location {row.location_code!r}")


def below_reserved(line_number: int, *, on_hand: int, reserved: int) -> RowError:
    return RowError(
        line_number,
        f"on_hand {on_hand} would be below the {reserved} units reserved (on_hand_below_reserved)",
    )


def upload_outcome(
    mode: ImportMode, *, rows_received: int, rows_invalid: int, failure: str | None = None
) -> tuple[ImportStatus, str | None]:
    """What a completely received file becomes: queued for the apply job, or failed now
    when it is unreadable or all-or-nothing already knows it cannot be applied."""
    if failure is not None:
        return ImportStatus.FAILED, failure
    if rows_received == 0:
        return ImportStatus.FAILED, "the file holds no rows"
    if mode is ImportMode.ALL_OR_NOTHING and rows_invalid:
        return ImportStatus.FAILED, f"{rows_invalid} invalid row(s); nothing was applied"
    return ImportStatus.QUEUED, None


# --- commands of an upload (ApplyImport, the job's, is in commands.py) ---------------------


@dataclass(frozen=True, kw_only=True)
class StartImport:
    mode: ImportMode
    format: ImportFormat


@dataclass(frozen=True, kw_only=True)
class StageImportRows:
    """One chunk of the file: rows that parsed, and the lines that did not."""

    import_id: UUID
    rows: tuple[StagedRow, ...]
    errors: tuple[RowError, ...]


@dataclass(frozen=True, kw_only=True)
class FinishUpload(Idempotent):
    """The whole file arrived; `fingerprint` hashes the mode and every byte of it, and
    `failure` says why the file cannot be read at all (a bad CSV header)."""

    import_id: UUID
    failure: str | None = None


@dataclass(frozen=True, kw_only=True)
class FailImport:
    import_id: UUID
    reason: str


@dataclass(frozen=True)
class ImportState:
    id: UUID
    status: ImportStatus
    mode: ImportMode
    rows_received: int
    rows_invalid: int


@dataclass(frozen=True, slots=True)
class ShortRow:
    """A staged row that would take on hand below what is reserved."""

    line_number: int
    on_hand: int
    reserved: int


@dataclass(frozen=True, slots=True)
class SkuChange:
    """What an applied import did to one SKU: its availability's change over active
    locations, the network's availability now, its alert threshold, and whether an order
    waits for stock at one of its changed rows."""

    sku: str
    change: int
    network_available: int
    threshold: int | None
    waiting: bool


@dataclass(frozen=True, slots=True)
class ChangedRow:
    """A stock row an applied import changed, as it left it."""

    location_code: str
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    available_before: int
    on_hand_changed: bool
    safety_stock_changed: bool
