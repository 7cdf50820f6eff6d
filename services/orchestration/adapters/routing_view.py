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
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db.driver import fetch
from services.orchestration.adapters.tables import routing_location
from services.orchestration.domain.routing.model import GeoPoint, Site
from services.orchestration.service_layer.unit_of_work import Candidates, LocationRow

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

# A location as routing sees it, less its stock: (version, the Site without stock). Kept per
# process and checked against each query's versions, so a location changed by another
# process's consumer is read again, never used stale.
_KNOWN: dict[str, tuple[int, Site]] = {}

_ALL_LOCATIONS = text("SELECT count(*) FROM routing_location")

# RoutingView.prefetch: the stock of a batch's SKUs, one row per SKU with its locations'
# figures as arrays (a row per SKU and location was ~10,000 rows for a batch of 40 orders,
# and decoding them was most of the prefetch), and every location's version.
_STOCK_OF = text(
    """
    SELECT sku, array_agg(location_code) AS codes, array_agg(available) AS available,
           array_agg(incoming) AS incoming
    FROM routing_stock
    WHERE sku = ANY(CAST(:skus AS text[])) AND (available > 0 OR incoming > 0)
    GROUP BY sku
    """
)
_VERSIONS = text("SELECT code, version FROM routing_location")


def _upsert_stock(column: str) -> Any:
    return text(
        f"""
        INSERT INTO routing_stock (sku, location_code, {column})
        SELECT * FROM unnest(CAST(:sku AS text[]), CAST(:code AS text[]), CAST(:n AS int[]))
        ON CONFLICT (sku, location_code) DO UPDATE SET {column} = EXCLUDED.{column},
            changed_at = CASE WHEN routing_stock.{column} = EXCLUDED.{column}
                         THEN routing_stock.changed_at ELSE now() END
        """
    )


_UPSERT_AVAILABLE = _upsert_stock("available")
_TOUCH_STOCK_OF = text("UPDATE routing_stock SET changed_at = now() WHERE location_code = :code")


async def touch_stock_of(session: AsyncSession, code: str) -> None:
    """The location's stock counts as changed now: orders waiting for it look again."""
    await session.execute(_TOUCH_STOCK_OF, {"code": code})


_UPSERT_INCOMING = _upsert_stock("incoming")


class RoutingView:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # (sku, location) -> the newest figure seen in this unit of work, to write at flush
        self._available: dict[tuple[str, str], int] = {}
        self._incoming: dict[tuple[str, str], int] = {}
        self._locations: dict[str, LocationRow] = {}
        # A batch's candidates, read at once (prefetch): sku -> {location: (available,
        # incoming, location version)} for the locations holding or expecting some, and how
        # many locations the view knows. Kept true to what flush writes (see _restock).
        self._stock_of: dict[str, dict[str, tuple[int, int, int]]] = {}
        self._known = 0

    # --- projection ----------------------------------------------------------------------

    def location_changed(self, row: LocationRow) -> None:
        known = self._locations.get(row.code)
        if known is None or known.version <= row.version:
            self._locations[row.code] = row

    def stock_changed(self, sku: str, location_code: str, available: int) -> None:
        self._available[(sku, location_code)] = available

    def incoming_changed(self, sku: str, location_code: str, incoming: int) -> None:
        self._incoming[(sku, location_code)] = incoming

    async def touch_stock_of(self, code: str) -> None:
        """The location's stock counts as changed now: orders waiting for it look again."""
        await touch_stock_of(self._session, code)

    async def flush(self) -> None:
        """Writes what this unit of work projected: one statement per table at most."""
        if self._locations:
            self._stock_of = {}  # the prefetched sites' fields may have changed
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
                self._restock(figures, available=figures is self._available)
                await self._session.execute(
                    statement,
                    {
                        "sku": [sku for sku, _ in keys],
                        "code": [code for _, code in keys],
                        "n": [figures[key] for key in keys],
                    },
                )
                figures.clear()

    def _restock(self, figures: dict[tuple[str, str], int], *, available: bool) -> None:
        """The prefetched stock, changed as flush is about to write it: a batch's stock
        changes (three an order, from inventory's reservations) would otherwise send every
        later order of the batch holding one of those SKUs back to the database for its
        candidates. A location the prefetch did not see holding the SKU is not patched in
        (its version is not known here): the SKU is read again when asked for."""
        for (sku, code), units in figures.items():
            rows = self._stock_of.get(sku)
            if rows is None:
                continue
            row = rows.get(code)
            if row is None:
                if units > 0:
                    del self._stock_of[sku]
                continue
            patched = (units, row[1], row[2]) if available else (row[0], units, row[2])
            if patched[0] > 0 or patched[1] > 0:
                rows[code] = patched
            else:  # neither held nor expected: not a candidate, as the query would say
                del rows[code]

    # --- reading -------------------------------------------------------------------------

    async def prefetch(self, skus: Iterable[str]) -> None:
        """The stock of every SKU a batch's orders hold, in one query, for candidates() to
        answer from: one read of each SKU's rows instead of one per order that holds it."""
        await self.flush()
        wanted = sorted(set(skus))
        versions: dict[str, int] = dict(await fetch(self._session, _VERSIONS, {}))
        self._stock_of = {sku: {} for sku in wanted}
        for sku, codes, available, incoming in await fetch(
            self._session, _STOCK_OF, {"skus": wanted}
        ):
            self._stock_of[sku] = {
                code: (units, expected, versions[code])
                for code, units, expected in zip(codes, available, incoming, strict=True)
                if code in versions  # a location the view does not know is not routable
            }
        self._known = len(versions)

    async def candidates(self, skus: Iterable[str], pickup: str | None = None) -> Candidates:
        """The sites routing considers for these SKUs (see Candidates), with their stock of
        them. Locations holding none of them and expecting none are only counted: every filter
        would refuse them for stock, and no score would change without them."""
        await self.flush()
        wanted = sorted(set(skus))
        if pickup is None and all(sku in self._stock_of for sku in wanted):
            return await self._prefetched(wanted)
        # On the driver (libs.db.driver): every routing reads its ~100 candidates here, and
        # SQLAlchemy's rows cost more than the query.
        rows = await fetch(self._session, _STOCKED, {"skus": wanted, "pickup": pickup or ""})
        await _learn_locations(
            self._session,
            [code for code, version, *_ in rows if _KNOWN.get(code, (None,))[0] != version],
        )
        sites = []
        for code, _, skus_of, available, incoming, _ in rows:
            known = _KNOWN.get(code)
            if known is None:
                continue  # gone between the two reads
            sites.append(
                known[1].stocked(
                    {s: n for s, n in zip(skus_of, available, strict=True) if n > 0},
                    {s: n for s, n in zip(skus_of, incoming, strict=True) if n > 0},
                )
            )
        return Candidates(sites, await _known_count(self._session, rows) - len(sites))

    async def _prefetched(self, skus: list[str]) -> Candidates:
        stock: dict[str, tuple[int, dict[str, int], dict[str, int]]] = {}
        for sku in skus:
            for code, (available, incoming, version) in self._stock_of[sku].items():
                entry = stock.get(code)
                if entry is None:
                    entry = stock[code] = (version, {}, {})
                if available > 0:
                    entry[1][sku] = available
                if incoming > 0:
                    entry[2][sku] = incoming
        await _learn_locations(
            self._session, [c for c, (v, _, _) in stock.items() if _KNOWN.get(c, (None,))[0] != v]
        )
        sites = [
            _KNOWN[code][1].stocked(available, incoming)
            for code, (_, available, incoming) in stock.items()
            if code in _KNOWN
        ]
        return Candidates(sites, self._known - len(sites))


async def _known_count(session: AsyncSession, rows: list[Any]) -> int:
    """How many locations the view knows: as the rows tell it, or (none came) asked."""
    known = rows[0]["known"] if rows else await session.scalar(_ALL_LOCATIONS)
    return int(known or 0)


async def _learn_locations(session: AsyncSession, stale: list[str]) -> None:
    """Read again the locations whose version the process does not know."""
    if stale:
        for row in await session.execute(_LOCATIONS, {"codes": stale}):
            _KNOWN[row.code] = (row.version, _site(row))


def _site(row: Any) -> Site:
    """The location as a Site without stock."""
    lat, lon = row.latitude, row.longitude
    return Site(
        code=row.code,
        type=row.type,
        active=row.active,
        capabilities=frozenset(row.capabilities),
        country=row.country,
        point=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        priority=row.priority,
        daily_capacity=row.daily_capacity,
        processing_days=row.processing_days,
        cutoff=row.cutoff,
        timezone=row.timezone,
    )
