"""The carrier rate table, versioned: every version is kept; the built-in table is version 1."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import versioned
from services.orchestration.adapters.tables import carrier_rates
from services.orchestration.domain.carriers import DEFAULT_RATE_TABLE, RateTable

DEFAULT_VERSION = 1
DEFAULT_CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)

# A table is built once per version and process: its float rates are worked out on first
# use, and routing prices every candidate of every order with them.
_BUILT: dict[int, RateTable] = {DEFAULT_VERSION: DEFAULT_RATE_TABLE}


async def current(session: AsyncSession) -> tuple[RateTable, int, datetime]:
    """The table in force, its version and when it was put."""
    row = await versioned.latest(session, carrier_rates)
    if row is None:
        return DEFAULT_RATE_TABLE, DEFAULT_VERSION, DEFAULT_CREATED_AT
    table = _BUILT.get(row.version)
    if table is None:
        table = _BUILT[row.version] = RateTable.from_dict(row.body)
    return table, row.version, row.created_at


async def add(
    session: AsyncSession, body: Mapping[str, Any], now: datetime, expected_version: int | None
) -> int:
    return await versioned.add_version(
        session,
        carrier_rates,
        body,
        now,
        expected_version=expected_version,
        default_version=DEFAULT_VERSION,
        what="carrier rates",
    )


class RateTableVersions:
    """The carrier rate table's versions, for the unit of work (service_layer.unit_of_work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def in_force(self) -> RateTable:
        return (await current(self._session))[0]

    async def add(
        self, body: Mapping[str, Any], now: datetime, expected_version: int | None
    ) -> int:
        return await add(self._session, body, now, expected_version)
