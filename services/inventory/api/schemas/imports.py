"""Bulk stock import models: the import with its progress, and its report of bad rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from libs.http.pagination import Page
from services.inventory.domain.import_rows import ImportFormat
from services.inventory.domain.imports import ImportMode, ImportStatus

ERROR_EXAMPLE: dict[str, Any] = {"line_number": 7, "message": "on_hand must not be negative"}

IMPORT_EXAMPLE: dict[str, Any] = {
    "id": "0190f0f6-2b5c-7cc2-8a4e-5b6f0c1d2e3f",
    "status": "applying",
    "mode": "partial",
    "format": "csv",
    "rows_received": 100000,
    "rows_invalid": 1,
    "rows_applied": 40000,
    "failure_reason": None,
    "created_at": "2026-11-22T10:15:00Z",
    "updated_at": "2026-11-22T10:15:04Z",
    "finished_at": None,
}


class ImportErrorRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ERROR_EXAMPLE]})

    line_number: int = Field(description="The file's physical line, 1-based (a CSV header is 1)")
    message: str


ImportErrorPage = Page[ImportErrorRead]


class StockImportSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [IMPORT_EXAMPLE]})

    id: UUID
    status: ImportStatus = Field(
        description="receiving (the file is arriving), queued, applying, completed or failed"
    )
    mode: ImportMode
    format: ImportFormat
    rows_received: int = Field(description="Data rows read so far (valid or not)")
    rows_invalid: int = Field(description="Rows that cannot be applied; see errors")
    rows_applied: int = Field(
        description="Rows applied so far; while applying, they commit together at the end"
    )
    # Nullable fields have a default: FastAPI drops None from the OpenAPI examples, and a
    # required field missing from its example would make the example invalid.
    failure_reason: str | None = Field(None, description="Why a failed import applied nothing")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


class StockImportRead(StockImportSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [IMPORT_EXAMPLE | {"errors": [ERROR_EXAMPLE], "errors_next_cursor": None}]
        }
    )

    errors: list[ImportErrorRead] = Field(
        description="The first bad rows by line number; the rest via /errors"
    )
    errors_next_cursor: str | None = Field(
        None, description="Cursor for GET /v1/stock/imports/{id}/errors, when there are more"
    )


StockImportPage = Page[StockImportSummary]
