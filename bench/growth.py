"""Grows the databases to a given number of orders and SKUs, for the growth scenario.

Orders are not invented: each new order is a copy of a real one the benchmark placed through
the API, with every row that belongs to it in every service (the order and its lines and
timeline, the saga with its steps, routing decision, fulfilments and payments, the
reservation and its lines, returns' copy of the order). A copy's ids are derived from the
copy number and the original id, md5(n:id), so the order, its saga and its reservation
still point at each other across the four databases; unique text keys (order numbers, RMA
numbers) get a suffix. Done in SQL, a batch per transaction: a million orders through the
API would take hours at the captured rate, and the point is the size of the tables and
their indexes, not the path that filled them.

Not copied: the plumbing that grows with events rather than orders (inbox, audit log,
idempotency keys; the outbox is purged once published).

SKUs: `sku_count` new SKUs, each stocked at `locations_per_sku` of the benchmark locations.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

# Tables that hold rows of an order, by how a row finds its order.
OWNED_BY_ORDER_ID = {
    "order_capture": ("order_line", "order_timeline_entry", "order_shipment"),
    "orchestration": (
        "order_saga",
        "saga_step",
        "routing_decision",
        "fulfillment_order",
        "payment_operation",
    ),
    "inventory": ("reservation",),
    "returns": ("known_order", "known_order_line", "return_request", "return_line", "refund"),
}
# (table, its column naming the order): the root rows, copied before the rows that refer to them.
ROOTS = {"order_capture": ("sales_order", "id")}
# (table, parent table, its column naming the parent, the parent's id column)
OWNED_BY_PARENT = {"inventory": (("reservation_line", "reservation", "reservation_id", "id"),)}
BATCH = 50_000


# When a copy happened: copy n is n times 8.64 s older than its original (10,000 orders a day),
# so "today" holds a busy day's orders, not a million. Deadlines and due times are kept:
# moved into the past, they would wake the services' sweeps.
HISTORY_COLUMNS = frozenset(
    {
        "created_at",
        "updated_at",
        "started_at",
        "placed_at",
        "decided_at",
        "ordered_at",
        "occurred_at",
        "requested_at",
        "at",
    }
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    identity: bool
    unique_text: bool


async def columns_of(conn: asyncpg.Connection, table: str) -> list[Column]:
    rows = await conn.fetch(
        """
        SELECT c.column_name, c.udt_name, c.is_identity = 'YES' OR c.is_generated = 'ALWAYS',
               EXISTS (
                 SELECT 1 FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = c.table_name::regclass AND i.indisunique
                   AND a.attname = c.column_name
               )
        FROM information_schema.columns c
        WHERE c.table_schema = 'public' AND c.table_name = $1
        ORDER BY c.ordinal_position
        """,
        table,
    )
    return [
        Column(name, udt, bool(identity), bool(unique) and udt == "text")
        for name, udt, identity, unique in rows
    ]


def copied(column: Column, alias: str = "t") -> str:
    """The expression that makes copy number `m.n` of a column's value."""
    ref = f"{alias}.{column.name}"
    if column.type == "uuid":
        # Consistent everywhere: an order id maps to the same new id in every database.
        return f"md5(m.n || ':' || {ref})::uuid"
    if column.unique_text:
        return f"{ref} || '-g' || m.n"
    if column.name in HISTORY_COLUMNS and column.type == "timestamptz":
        return f"{ref} - m.n * interval '8.64 seconds'"
    return ref


def copy_statement(table: str, columns: Sequence[Column], source: str, order_column: str) -> str:
    """INSERT copies of `table`'s rows for copy numbers in growth_map; `source` names the
    rows as `t` and the column holding their order id as `order_column`."""
    kept = [c for c in columns if not c.identity]
    names = ", ".join(c.name for c in kept)
    values = ", ".join(copied(c) for c in kept)
    return (
        f"INSERT INTO {table} ({names}) SELECT {values} FROM {source} "
        f"JOIN growth_map m ON {order_column} = m.template_id "
        "WHERE m.n BETWEEN $1 AND $2"
    )


def statements_for(service: str, columns: dict[str, list[Column]]) -> list[str]:
    found = []
    if service in ROOTS:
        table, key = ROOTS[service]
        found.append(copy_statement(table, columns[table], f"{table} t", f"t.{key}"))
    for table in OWNED_BY_ORDER_ID[service]:
        found.append(copy_statement(table, columns[table], f"{table} t", "t.order_id"))
    for table, parent, fk, parent_key in OWNED_BY_PARENT.get(service, ()):
        source = f"{table} t JOIN {parent} p ON p.{parent_key} = t.{fk}"
        found.append(copy_statement(table, columns[table], source, "p.order_id"))
    return found


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def count_orders(url: str) -> int:
    async with connected(url) as conn:
        return int(await conn.fetchval("SELECT count(*) FROM sales_order"))


async def count_skus(url: str) -> int:
    async with connected(url) as conn:
        return int(await conn.fetchval("SELECT count(DISTINCT sku) FROM stock_level"))


async def templates(orchestration_url: str, limit: int = 200) -> list[str]:
    """Orders to copy: ones the benchmark placed whose sagas are at rest (fulfilment orders
    out, payment authorised), so no copy is due for any of the services' workers."""
    async with connected(orchestration_url) as conn:
        rows = await conn.fetch(
            "SELECT order_id FROM order_saga s WHERE state = 'fulfilling' AND due_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM payment_operation p WHERE p.order_id = s.order_id "
            "AND p.completed_at IS NULL) ORDER BY random() LIMIT $1",
            limit,
        )
    found = [str(row["order_id"]) for row in rows]
    assert found, "no routed order to copy: run the growth scenario after capture"
    return found


async def grow_orders(
    urls: dict[str, str], templates: Sequence[str], *, first: int, last: int
) -> float:
    """Copies number `first`..`last` of the template orders into the databases of the order
    path's four services (OWNED_BY_ORDER_ID), at once (PostgreSQL runs each on its own
    backend). Returns the seconds it took. Notifications' and insights' tables are not grown:
    several are keyed by ids of their own (a shipment's, a webhook's) that a copy would have to
    make anew, and neither is on capture's path."""
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _grow(service, url, templates, first, last)
            for service, url in urls.items()
            if service in OWNED_BY_ORDER_ID
        )
    )
    return time.perf_counter() - started


async def _grow(service: str, url: str, templates: Sequence[str], first: int, last: int) -> None:
    async with connected(url) as conn:
        tables = [ROOTS[service][0]] if service in ROOTS else []
        tables += OWNED_BY_ORDER_ID[service]
        tables += [t for t, *_ in OWNED_BY_PARENT.get(service, ())]
        columns = {t: await columns_of(conn, t) for t in tables}
        statements = statements_for(service, columns)
        await conn.execute(
            "CREATE TEMP TABLE growth_map (n int PRIMARY KEY, template_id uuid NOT NULL)"
        )
        await conn.execute(
            "INSERT INTO growth_map SELECT n, ($3::uuid[])[1 + n % cardinality($3::uuid[])] "
            "FROM generate_series($1::int, $2::int) n",
            first,
            last,
            list(templates),
        )
        for low in range(first, last + 1, BATCH):
            high = min(low + BATCH - 1, last)
            async with conn.transaction():
                for statement in statements:
                    await conn.execute(statement, low, high)
        await conn.execute("DROP TABLE growth_map")
        for table in tables:
            await conn.execute(f"VACUUM ANALYZE {table}")


async def grow_skus(
    url: str, locations: Sequence[str], *, sku_count: int, locations_per_sku: int = 10
) -> float:
    """`sku_count` more SKUs in inventory, each stocked at `locations_per_sku` locations."""
    started = time.perf_counter()
    async with connected(url) as conn:
        await conn.execute(
            """
            INSERT INTO stock_level (location_code, sku, on_hand, updated_at)
            SELECT ($1::text[])[1 + (s * 7 + k) % cardinality($1::text[])],
                   'GROWTH-SKU-' || lpad(s::text, 6, '0'), 50 + (s + k) % 200, now()
            FROM generate_series(1, $2::int) s, generate_series(0, $3::int - 1) k
            ON CONFLICT DO NOTHING
            """,
            list(locations),
            sku_count,
            locations_per_sku,
        )
        await conn.execute("VACUUM ANALYZE stock_level")
    return time.perf_counter() - started
