"""Query parameter types and edge checks the inventory routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from libs.http.pagination import MAX_LIMIT
from services.inventory.adapters import queries
from services.inventory.domain.errors import UnknownLocation, UnknownSku

CODE_PATTERN = r"^[A-Za-z0-9._\-/]+$"

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
LocationCodePath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["WH-BER"])
]
SkuPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["LAMP-001"])
]


async def require_locations(session: AsyncSession, codes: set[str]) -> None:
    """422 unknown_location for a code that names no location."""
    missing = sorted(codes - await queries.existing_locations(session, codes))
    if missing:
        raise UnknownLocation(f"no location {', '.join(missing)}", location_codes=missing)


async def require_skus(session: AsyncSession, skus: set[str]) -> None:
    """422 unknown_sku for a SKU inventory has never stocked anywhere."""
    missing = sorted(skus - await queries.known_skus(session, skus))
    if missing:
        raise UnknownSku(f"no stock record of {', '.join(missing)}", skus=missing)
