"""Bulk stock imports: a file of counted stock levels, streamed in and applied in the
background, with its progress and its report of bad rows."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep
from libs.http.pagination import DEFAULT_LIMIT
from libs.http.problems import problem_responses
from services.inventory.adapters import import_queries
from services.inventory.api.routes.common import Limit
from services.inventory.api.schemas.imports import (
    ImportErrorPage,
    StockImportPage,
    StockImportRead,
)
from services.inventory.domain.errors import ImportNotFound, LocationNarrowedImport
from services.inventory.domain.imports import ImportMode, format_of
from services.inventory.service_layer.handlers.imports import receive_import

router = APIRouter(tags=["stock-imports"])

IMPORTS_PATH = "/v1/stock/imports"
# 100,000 rows are 3-10 MB; the ceiling leaves room for long codes without inviting abuse.
MAX_IMPORT_BYTES = 64 * 1024 * 1024

_FILE = {"type": "string", "format": "binary"}
_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Columns location_code, sku, on_hand and optional safety_stock; at most "
        "100,000 rows. CSV with a header line, or one JSON object per line.",
        "content": {
            "text/csv": {
                "schema": _FILE,
                "example": "location_code,sku,on_hand,safety_stock\nWH-BER,LAMP-001,120,5\n",
            },
            "application/x-ndjson": {
                "schema": _FILE,
                "example": '{"location_code": "WH-BER", "sku": "LAMP-001", "on_hand": 120}\n',
            },
        },
    }
}
Mode = Annotated[
    ImportMode,
    Query(
        description="all_or_nothing: any bad row fails the import and nothing is applied; "
        "partial: the good rows are applied and the bad ones reported"
    ),
]


async def _render(session: ReadSessionDep, import_id: UUID) -> StockImportRead:
    found = await import_queries.get_import(session, import_id)
    if found is None:
        raise ImportNotFound(f"no stock import {import_id}")
    return StockImportRead.model_validate(found, from_attributes=True)


@router.post(
    "/stock/imports",
    status_code=202,
    summary="Import stock levels from a file",
    responses=problem_responses(409, 413, 422, 503),
    openapi_extra=_REQUEST_BODY,
)
async def create(
    request: Request,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.INVENTORY_ADJUST)],
    mode: Mode = ImportMode.ALL_OR_NOTHING,
    idempotency_key: IdempotencyKeyDep = None,
) -> StockImportRead:
    """Each row sets a location's counted on-hand (and safety stock) of a SKU, as PUT
    /locations/{code}/stock/{sku} does. The file streams in; 202 once it is read, then poll
    the Location. 422 `import_too_large` over 100,000 rows, `unsupported_import_format` for
    another Content-Type than text/csv or application/x-ndjson. 403
    `location_narrowed_import` for a token narrowed to some locations: a file spans them."""
    if caller.locations is not None:
        raise LocationNarrowedImport(
            "a token with a locations claim sets stock per location with PUT "
            "/v1/locations/{code}/stock/{sku}"
        )
    import_id = await receive_import(
        request.stream(),
        bus=bus,
        mode=mode,
        fmt=format_of(request.headers.get("content-type")),
        idempotency_key=idempotency_key,
    )
    response.headers["Location"] = f"{IMPORTS_PATH}/{import_id}"
    return await _render(session, import_id)


@router.get(
    "/stock/imports",
    summary="List stock imports, newest first",
    responses=problem_responses(422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def list_(
    session: ReadSessionDep, limit: Limit = DEFAULT_LIMIT, cursor: str | None = None
) -> StockImportPage:
    """Every import with its status and counts, newest first (cursor-paginated)."""
    found = await import_queries.list_imports(session, limit=limit, cursor=cursor)
    return StockImportPage.model_validate(found, from_attributes=True)


@router.get(
    "/stock/imports/{import_id}",
    summary="Get a stock import and its progress",
    responses=problem_responses(404, 422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def get(import_id: UUID, session: ReadSessionDep) -> StockImportRead:
    """Status and counts (received, invalid, applied), updated while the file arrives and
    while it is applied, and the first bad rows with their line numbers."""
    return await _render(session, import_id)


@router.get(
    "/stock/imports/{import_id}/errors",
    summary="The bad rows of a stock import",
    responses=problem_responses(404, 422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def errors(
    import_id: UUID,
    session: ReadSessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ImportErrorPage:
    """Every row that was not applied, by line number, with what is wrong with it."""
    if not await import_queries.import_exists(session, import_id):
        raise ImportNotFound(f"no stock import {import_id}")
    found = await import_queries.import_errors(session, import_id, limit=limit, cursor=cursor)
    return ImportErrorPage.model_validate(found, from_attributes=True)
