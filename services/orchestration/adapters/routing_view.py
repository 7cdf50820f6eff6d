"""Orchestration's own view of inventory's locations and stock, for routing and promises.

Projected from inventory's events (oms.inventory.location_changed, stock_changed and
incoming_changed), so routing an order asks inventory nothing: it reads these two tables in
its own transaction. The view can lag inventory by the time an event takes to arrive; that
can only make a plan that inventory then refuses (the saga plans again) or a plan that waits
a moment for the view to catch up, never an oversell: inventory's reservation decides.

Writes are staged and written at most once per key in one statement when the unit of work
reads the view or commits: a consumer's batch of hundreds of stock changes is one upsert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.driver import fetch
from services.orchestration.adapters.tables import routing_location
from services.orchestration.domain.routing.model import GeoPoint, Site


@dataclass(frozen=True)
class LocationRow:
    code: str
    type: str
    active: bool
    capabilities: list[str]
    country: str
    latitude: float | None
    longitude: float | None
    priority: int
    daily_capacity: int | None
    processing_days: int
    cutoff: time | None
    timezone: str
    version: int


@dataclass(frozen=True)
class Candidates:
    """The locations routing considers for some SKUs: those with stock of any of them, or
    expecting some, and the chosen pickup store; and how many others it passed over."""

    sites: list[Site]
    passed_over: int


_STOCKED = text(
    """
    WITH stocked AS (
        SELECT location_code, sku, available, incoming FROM routing_stock
        WHERE sku = ANY(CAST(:skus AS text[])) AND (available > 0 OR incoming > 0)
    )
    SELECT l.code, l.version,
           coalesce(array_agg(s.sku) FILTER (WHERE s.sku IS NOT NULL), '{}') AS skus,
           coalesce(array_agg(s.available) FILTER (WHERE s.sku IS NOT NULL), '{}') AS available,
           coalesce(array_agg(s.incoming) FILTER (WHERE s.sku IS NOT NULL), '{}') AS incoming,
           (SELECT count(*) FROM routing_location) AS known
    FROM routing_location l LEFT JOIN stocked s ON s.location_code = l.code
    WHERE l.code IN (SELECT location_code FROM stocked) OR l.code = :pickup
    GROUP BY l.code
    """
)

_LOCATIONS = text(
    """
    SELECT code, type, active, capabilities, country, latitude, longitude, priority,
           daily_capacity, processing_days, cutoff, timezone, version
    FROM routing_location WHERE code = ANY(CAST(:codes AS text[]))
    """
)

# A location as routing sees it, less its stock: (version, the Site's other fields). Kept per
# process and checked against each query's versions, so a location changed by another
# process's consumer is read again, never used stale.
_KNOWN: dict[str, tuple[int, dict[str, Any]]] = {}

_ALL_LOCATIONS = text("SELECT count(*) FROM routing_location")


def _upsert_stock(column: str) -> Any:
    return text(
        f"""
        INSERT INTO routing_stock (sku, location_code, {column})
        SELECT * FROM unnest(CAST(:sku AS text[]), CAST(:code AS text[]), CAST(:n AS int[]))
        ON CONFLICT (sku, location_code) DO UPDATE SET {column} = EXCLUDED.{column}
        """
    )


_UPSERT_AVAILABLE = _upsert_stock("available")
_UPSERT_INCOMING = _upsert_stock("incoming")


class RoutingView:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # (sku, location) -> the newest figure seen in this unit of work, to write at flush
        self._available: dict[tuple[str, str], int] = {}
        self._incoming: dict[tuple[str, str], int] = {}
        self._locations: dict[str, LocationRow] = {}

    # --- projection ----------------------------------------------------------------------

    def location_changed(self, row: LocationRow) -> None:
        known = self._locations.get(row.code)
        if known is None or known.version <= row.version:
            self._locations[row.code] = row

    def stock_changed(self, sku: str, location_code: str, available: int) -> None:
        self._available[(sku, location_code)] = available

    def incoming_changed(self, sku: str, location_code: str, incoming: int) -> None:
        self._incoming[(sku, location_code)] = incoming

    async def flush(self) -> None:
        """Writes what this unit of work projected: one statement per table at most."""
        if self._locations:
            rows = [vars(row) for row in self._locations.values()]
            self._locations = {}
            upsert = pg_insert(routing_location).values(rows)
            await self._session.execute(
                upsert.on_conflict_do_update(
                    index_elements=["code"],
                    set_={c: upsert.excluded[c] for c in rows[0] if c != "code"},
                    # An older version never overwrites a newer one (a replay, say).
                    where=routing_location.c.version <= upsert.excluded.version,
                )
            )
        for figures, statement in (
            (self._available, _UPSERT_AVAILABLE),
            (self._incoming, _UPSERT_INCOMING),
        ):
            if figures:
                keys = sorted(figures)  # one order for every writer: no deadlock between them
                await self._session.execute(
                    statement,
                    {
                        "sku": [sku for sku, _ in keys],
                        "code": [code for _, code in keys],
                        "n": [figures[key] for key in keys],
                    },
                )
                figures.clear()

    # --- reading -------------------------------------------------------------------------

    async def candidates(self, skus: Iterable[str], pickup: str | None = None) -> Candidates:
        """The sites routing considers for these SKUs (see Candidates), with their stock of
        them. Locations holding none of them and expecting none are only counted: every filter
        would refuse them for stock, and no score would change without them."""
        await self.flush()
        # On the driver (libs.db.driver): every routing reads its ~100 candidates here, and
        # SQLAlchemy's rows cost more than the query.
        rows = await fetch(
            self._session, _STOCKED, {"skus": sorted(set(skus)), "pickup": pickup or ""}
        )
        stale = [code for code, version, *_ in rows if _KNOWN.get(code, (None,))[0] != version]
        if stale:
            for row in await self._session.execute(_LOCATIONS, {"codes": stale}):
                _KNOWN[row.code] = (row.version, _fields(row))
        sites = []
        for code, _, skus_of, available, incoming, _ in rows:
            known = _KNOWN.get(code)
            if known is None:
                continue  # gone between the two reads
            sites.append(
                Site(
                    **known[1],
                    available={s: n for s, n in zip(skus_of, available, strict=True) if n > 0},
                    incoming={s: n for s, n in zip(skus_of, incoming, strict=True) if n > 0},
                )
            )
        known_count = rows[0]["known"] if rows else await self._session.scalar(_ALL_LOCATIONS)
        return Candidates(sites, int(known_count or 0) - len(sites))


def _fields(row: Any) -> dict[str, Any]:
    """A Site's fields but its stock."""
    lat, lon = row.latitude, row.longitude
    return {
        "code": row.code,
        "type": row.type,
        "active": row.active,
        "capabilities": frozenset(row.capabilities),
        "country": row.country,
        "point": GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        "priority": row.priority,
        "daily_capacity": row.daily_capacity,
        "processing_days": row.processing_days,
        "cutoff": row.cutoff,
        "timezone": row.timezone,
    }
