"""Set-wise SQL that applies a staged import to the stock rows, one chunk at a time.

The staged rows are copied into a temporary table numbered in chunks by (location_code,
sku), the global lock order: taking chunk after chunk, the transaction locks stock rows in
that order, as every other writer does, so it cannot deadlock with them. Each chunk costs a
few statements whatever its size; no statement runs per row. Both temporary tables live as
long as the transaction (ON COMMIT DROP), so a rollback leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Integer

from services.inventory.domain.imports import ChangedRow, ShortRow, SkuChange
from services.inventory.domain.stock import Reason

_CREATE_BATCH = text(
    "CREATE TEMPORARY TABLE import_batch (line_number int PRIMARY KEY, location_code text "
    "NOT NULL, sku text NOT NULL, on_hand int NOT NULL, safety_stock int, chunk int NOT NULL) "
    "ON COMMIT DROP"
)
_FILL_BATCH = text(
    "INSERT INTO import_batch SELECT line_number, location_code, sku, on_hand, safety_stock, "
    "((row_number() OVER (ORDER BY location_code, sku)) - 1) / :chunk_rows "
    "FROM stock_import_row WHERE import_id = :import_id"
)
_CREATE_CHANGED = text(
    "CREATE TEMPORARY TABLE import_changed (location_code text, sku text, on_hand int, "
    "reserved int, safety_stock int, available int, available_before int, "
    "on_hand_changed bool, safety_stock_changed bool, PRIMARY KEY (sku, location_code)) "
    "ON COMMIT DROP"
)
# Rows never stocked before are created first, then every row of the chunk is locked in one
# sorted statement: the same steps as StockRepository.lock_or_create, set-wise.
_CREATE_MISSING = text(
    "INSERT INTO stock_level (location_code, sku, on_hand, reserved, updated_at) "
    "SELECT location_code, sku, 0, 0, :now FROM import_batch WHERE chunk = :chunk "
    "ORDER BY location_code, sku ON CONFLICT DO NOTHING"
)
_LOCK = text(
    "SELECT count(*) FROM (SELECT 1 FROM stock_level s JOIN import_batch b "
    "ON s.location_code = b.location_code AND s.sku = b.sku WHERE b.chunk = :chunk "
    "ORDER BY s.location_code, s.sku FOR UPDATE OF s) AS locked"
)
_BELOW_RESERVED = text(
    "SELECT b.line_number, b.on_hand, s.reserved FROM import_batch b JOIN stock_level s "
    "ON s.location_code = b.location_code AND s.sku = b.sku "
    "WHERE b.chunk = :chunk AND b.on_hand < s.reserved ORDER BY b.line_number"
)
_DROP_LINES = text("DELETE FROM import_batch WHERE line_number = ANY(:lines)").bindparams(
    bindparam("lines", type_=ARRAY(Integer))
)
# One statement per chunk: the counts, the ledger row of every changed on_hand (reserved is
# never touched by a count, so its delta is 0) and a note of each changed row for the events.
# Rows the file leaves as they are change nothing and write nothing.
_APPLY = text(
    """
    WITH src AS (
        SELECT b.location_code, b.sku, b.on_hand,
               COALESCE(b.safety_stock, s.safety_stock) AS safety_stock,
               s.on_hand AS on_hand_before, s.safety_stock AS safety_stock_before,
               s.available AS available_before
        FROM import_batch b
        JOIN stock_level s ON s.location_code = b.location_code AND s.sku = b.sku
        WHERE b.chunk = :chunk
    ), changed AS (
        UPDATE stock_level s
        SET on_hand = src.on_hand, safety_stock = src.safety_stock, updated_at = :now
        FROM src
        WHERE s.location_code = src.location_code AND s.sku = src.sku
          AND (s.on_hand <> src.on_hand OR s.safety_stock <> src.safety_stock)
        RETURNING s.location_code, s.sku, s.on_hand, s.reserved, s.safety_stock, s.available,
                  src.on_hand_before, src.safety_stock_before, src.available_before
    ), ledger AS (
        INSERT INTO stock_movement (location_code, sku, on_hand_delta, reserved_delta,
                                    on_hand_after, reserved_after, reason, reference, occurred_at)
        SELECT location_code, sku, on_hand - on_hand_before, 0, on_hand, reserved,
               :reason, :reference, :now
        FROM changed WHERE on_hand <> on_hand_before ORDER BY location_code, sku
    )
    INSERT INTO import_changed
    SELECT location_code, sku, on_hand, reserved, safety_stock, available, available_before,
           on_hand <> on_hand_before, safety_stock <> safety_stock_before
    FROM changed
    """
)
# Per changed SKU: how much its availability moved and the network's availability now (both
# over active locations, as StockRepository.network_available), its alert threshold, and
# whether an order waits for stock at one of its changed rows.
_CHANGED_SKUS = text(
    """
    WITH skus AS (
        SELECT c.sku,
               sum(CASE WHEN l.active THEN c.available - c.available_before ELSE 0 END) AS change
        FROM import_changed c JOIN location l ON l.code = c.location_code
        GROUP BY c.sku
    ), network AS (
        SELECT s.sku, sum(s.available) AS available
        FROM stock_level s JOIN location l ON l.code = s.location_code
        WHERE l.active AND s.sku IN (SELECT sku FROM skus)
        GROUP BY s.sku
    ), waiting AS (
        SELECT DISTINCT c.sku FROM import_changed c JOIN reservation_line r
        ON r.location_code = c.location_code AND r.sku = c.sku WHERE r.backordered > 0
    )
    SELECT skus.sku, skus.change, COALESCE(network.available, 0) AS network_available,
           p.low_stock_threshold AS threshold, waiting.sku IS NOT NULL AS waiting
    FROM skus
    LEFT JOIN network ON network.sku = skus.sku
    LEFT JOIN sku_policy p ON p.sku = skus.sku
    LEFT JOIN waiting ON waiting.sku = skus.sku
    """
)
_CHANGED_ROWS = text(
    "SELECT * FROM import_changed WHERE (sku, location_code) > (:sku, :location_code) "
    "ORDER BY sku, location_code LIMIT :limit"
)


class ImportBatch:
    """The staged rows of one import inside the applying transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def prepare(self, import_id: UUID, *, chunk_rows: int) -> int:
        """Copy the staged rows into the batch; returns how many chunks it has."""
        await self._session.execute(_CREATE_BATCH)
        await self._session.execute(_CREATE_CHANGED)
        await self._session.execute(_FILL_BATCH, {"import_id": import_id, "chunk_rows": chunk_rows})
        await self._session.execute(text("CREATE INDEX ON import_batch (chunk)"))
        await self._session.execute(text("ANALYZE import_batch"))
        last = await self._session.scalar(text("SELECT max(chunk) FROM import_batch"))
        return 0 if last is None else int(last) + 1

    async def lock_chunk(self, chunk: int, *, now: datetime) -> int:
        """Create the chunk's missing stock rows and lock all of them; returns their number."""
        await self._session.execute(_CREATE_MISSING, {"chunk": chunk, "now": now})
        return int(await self._session.scalar(_LOCK, {"chunk": chunk}) or 0)

    async def below_reserved(self, chunk: int) -> list[ShortRow]:
        rows = await self._session.execute(_BELOW_RESERVED, {"chunk": chunk})
        return [ShortRow(*r) for r in rows]

    async def drop_lines(self, lines: Sequence[int]) -> None:
        if lines:
            await self._session.execute(_DROP_LINES, {"lines": list(lines)})

    async def apply_chunk(self, chunk: int, *, reference: str, now: datetime) -> None:
        await self._session.execute(
            _APPLY,
            {"chunk": chunk, "now": now, "reason": Reason.IMPORTED.value, "reference": reference},
        )

    async def changed_skus(self) -> list[SkuChange]:
        rows = await self._session.execute(_CHANGED_SKUS)
        return [
            SkuChange(sku, int(change), int(network), threshold, waiting)
            for sku, change, network, threshold, waiting in rows
        ]

    async def changed_rows(self, *, page_size: int) -> AsyncIterator[list[ChangedRow]]:
        """Every changed row, in pages ordered by SKU (the events' key) and location."""
        after = ("", "")
        while True:
            rows = await self._session.execute(
                _CHANGED_ROWS, {"sku": after[0], "location_code": after[1], "limit": page_size}
            )
            page = [ChangedRow(*r) for r in rows]
            if not page:
                return
            yield page
            after = (page[-1].sku, page[-1].location_code)
