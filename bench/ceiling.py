"""The machine's own ceiling: pgbench running the shape of one order write, durable commits.

    python -m bench.ceiling postgresql://user:pass@127.0.0.1:5432/db [--seconds 15]

One transaction is what order-capture writes when it accepts an order: the order row (a
~300-byte address document, money as bigint minor units), three order lines in one INSERT and
one outbox row (a ~1.2 KB event payload), then COMMIT. It runs in its own schema,
`bench_ceiling`, created before the run and dropped after it, on the same PostgreSQL as the
services. Commits are as durable as the server is configured to make them: the run never turns
`synchronous_commit` off, it reads the setting and records it beside the figure.

The service's own transaction does more than this (the idempotency key, the duplicate
channel-reference lookup, the timeline and audit rows, the outbox NOTIFY trigger, and the HTTP,
validation and ORM work around it), so this figure is an upper bound on what the service could
reach on this machine, not a target it should meet.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = "bench_ceiling"
PGBENCH = shutil.which("pgbench") or "/usr/bin/pgbench"
PSQL = shutil.which("psql") or "/usr/bin/psql"

SETUP_SQL = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE SEQUENCE {SCHEMA}.order_number_seq START 1000;
CREATE TABLE {SCHEMA}.sales_order (
    id uuid NOT NULL,
    order_number text NOT NULL,
    channel text NOT NULL,
    channel_order_ref text NOT NULL,
    status text NOT NULL,
    currency text NOT NULL,
    customer_email text NOT NULL,
    customer_name text NOT NULL,
    shipping_address jsonb NOT NULL,
    subtotal bigint NOT NULL,
    tax_total bigint NOT NULL,
    shipping_amount bigint NOT NULL,
    grand_total bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL,
    CONSTRAINT pk_sales_order PRIMARY KEY (id),
    CONSTRAINT uq_sales_order_order_number UNIQUE (order_number),
    CONSTRAINT uq_sales_order_channel_ref UNIQUE (channel, channel_order_ref)
);
CREATE INDEX ix_sales_order_created_at_id ON {SCHEMA}.sales_order (created_at, id);
CREATE INDEX ix_sales_order_status ON {SCHEMA}.sales_order (status);
CREATE TABLE {SCHEMA}.order_line (
    id uuid NOT NULL,
    order_id uuid NOT NULL,
    position integer NOT NULL,
    sku text NOT NULL,
    quantity integer NOT NULL,
    unit_price bigint NOT NULL,
    tax_amount bigint NOT NULL,
    line_total bigint NOT NULL,
    CONSTRAINT pk_order_line PRIMARY KEY (id),
    CONSTRAINT fk_order_line_order_id FOREIGN KEY (order_id)
        REFERENCES {SCHEMA}.sales_order (id) ON DELETE CASCADE,
    CONSTRAINT ck_order_line_quantity_positive CHECK (quantity > 0)
);
CREATE INDEX ix_order_line_order_id ON {SCHEMA}.order_line (order_id);
CREATE TABLE {SCHEMA}.outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    id uuid NOT NULL,
    topic text NOT NULL,
    key text NOT NULL,
    event_type text NOT NULL,
    schema_version integer NOT NULL,
    payload jsonb NOT NULL,
    headers jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    CONSTRAINT pk_outbox PRIMARY KEY (seq),
    CONSTRAINT uq_outbox_id UNIQUE (id)
);
CREATE INDEX ix_outbox_unpublished ON {SCHEMA}.outbox (seq) WHERE published_at IS NULL;
"""

TEARDOWN_SQL = f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;"

# pgbench replaces every `:name` in a statement by a bind parameter (-M prepared), inside
# string literals too: the SQL below keeps `:` for variables and `::` casts only. A variable
# set by `\gset` (order_id, order_number, address) is read by the statements after it.
PGBENCH_SCRIPT = f"""\\set customer random(1, 5000000)
\\set channel random(1, 3)
\\set street random(1, 9999)
\\set postal random(1000, 99999)
\\set phone random(1000000, 9999999)
\\set sku1 random(1, 100000)
\\set sku2 random(1, 100000)
\\set sku3 random(1, 100000)
\\set qty1 random(1, 3)
\\set qty2 random(1, 3)
\\set qty3 random(1, 3)
\\set price1 random(499, 8099)
\\set price2 random(499, 8099)
\\set price3 random(499, 8099)
\\set total1 :qty1 * :price1
\\set total2 :qty2 * :price2
\\set total3 :qty3 * :price3
\\set subtotal :total1 + :total2 + :total3
\\set tax :subtotal * 19 / 100
\\set shipping random(0, 1495)
\\set grand :subtotal + :tax + :shipping
BEGIN;
INSERT INTO {SCHEMA}.sales_order (
    id, order_number, channel, channel_order_ref, status, currency,
    customer_email, customer_name, shipping_address,
    subtotal, tax_total, shipping_amount, grand_total,
    created_at, updated_at, version
) VALUES (
    gen_random_uuid(),
    'OMS-' || lpad(nextval('{SCHEMA}.order_number_seq')::text, 8, '0'),
    (ARRAY['web', 'marketplace', 'store'])[:channel::int],
    'BENCH-' || replace(gen_random_uuid()::text, '-', ''),
    'accepted',
    'EUR',
    'customer' || :customer::text || '@example.com',
    'Customer Number ' || :customer::text,
    jsonb_build_object(
        'name', 'Customer Number ' || :customer::text,
        'company', 'Example Trading GmbH',
        'line1', :street::text || ' Long Example Street',
        'line2', 'Building ' || (:street::int % 20)::text || ', floor 3, door on the left',
        'city', 'Berlin',
        'region', 'Berlin',
        'postal_code', lpad(:postal::text, 5, '0'),
        'country', 'DE',
        'phone', '+49 30 ' || :phone::text,
        'instructions', 'Ring twice, side door'
    ),
    :subtotal, :tax, :shipping, :grand,
    now(), now(), 1
) RETURNING id AS order_id, order_number, shipping_address AS address \\gset
INSERT INTO {SCHEMA}.order_line (
    id, order_id, position, sku, quantity, unit_price, tax_amount, line_total
) VALUES
    (gen_random_uuid(), :order_id::uuid, 1, 'SKU-' || lpad(:sku1::text, 6, '0'),
     :qty1, :price1, :total1 * 19 / 100, :total1),
    (gen_random_uuid(), :order_id::uuid, 2, 'SKU-' || lpad(:sku2::text, 6, '0'),
     :qty2, :price2, :total2 * 19 / 100, :total2),
    (gen_random_uuid(), :order_id::uuid, 3, 'SKU-' || lpad(:sku3::text, 6, '0'),
     :qty3, :price3, :total3 * 19 / 100, :total3);
INSERT INTO {SCHEMA}.outbox (id, topic, key, event_type, schema_version, payload, headers)
VALUES (
    gen_random_uuid(),
    'order-capture.orders',
    :order_id::text,
    'OrderPlaced',
    1,
    jsonb_build_object(
        'order_id', :order_id::text,
        'order_number', :order_number::text,
        'sequence', 1,
        'channel', (ARRAY['web', 'marketplace', 'store'])[:channel::int],
        'currency', 'EUR',
        'customer', jsonb_build_object(
            'email', 'customer' || :customer::text || '@example.com',
            'name', 'Customer Number ' || :customer::text,
            'phone', '+49 30 ' || :phone::text
        ),
        'shipping_address', :address::jsonb,
        'delivery', jsonb_build_object('method', 'ship', 'service_level', 'standard'),
        'lines', jsonb_build_array(
            jsonb_build_object(
                'line_id', gen_random_uuid(), 'position', 1,
                'sku', 'SKU-' || lpad(:sku1::text, 6, '0'),
                'quantity', :qty1::int, 'unit_price', :price1::bigint,
                'tax_amount', :total1::bigint * 19 / 100, 'line_total', :total1::bigint
            ),
            jsonb_build_object(
                'line_id', gen_random_uuid(), 'position', 2,
                'sku', 'SKU-' || lpad(:sku2::text, 6, '0'),
                'quantity', :qty2::int, 'unit_price', :price2::bigint,
                'tax_amount', :total2::bigint * 19 / 100, 'line_total', :total2::bigint
            ),
            jsonb_build_object(
                'line_id', gen_random_uuid(), 'position', 3,
                'sku', 'SKU-' || lpad(:sku3::text, 6, '0'),
                'quantity', :qty3::int, 'unit_price', :price3::bigint,
                'tax_amount', :total3::bigint * 19 / 100, 'line_total', :total3::bigint
            )
        ),
        'totals', jsonb_build_object(
            'subtotal', :subtotal::bigint, 'discount_total', 0, 'tax_total', :tax::bigint,
            'shipping_amount', :shipping::bigint, 'grand_total', :grand::bigint
        ),
        'placed_at', now()
    ),
    jsonb_build_object(
        'id', gen_random_uuid(),
        'source', 'oms/order-capture',
        'correlation_id', gen_random_uuid(),
        'content_type', 'application/json'
    )
);
COMMIT;
"""


@dataclass(frozen=True)
class Ceiling:
    """What pgbench sustained with the order-write transaction, and how it was run."""

    tps: float
    clients: int
    seconds: float
    latency_avg_ms: float
    synchronous_commit: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CeilingError(RuntimeError):
    """pgbench or psql failed; the message carries the tool's own stderr."""


# pgbench >= 14: "tps = 2701.789012 (without initial connection time)";
# up to 13: "... (including connections establishing)" and "... (excluding ...)".
_TPS = re.compile(r"^tps = ([0-9.]+) \(([^)]*)\)", re.MULTILINE)
_LATENCY = re.compile(r"^latency average\s*[=:]\s*([0-9.]+) ms", re.MULTILINE)
_CLIENTS = re.compile(r"^number of clients:\s*(\d+)", re.MULTILINE)


def parse_pgbench(output: str) -> tuple[float, float]:
    """(transactions/s, average latency in ms) from pgbench's report.

    The tps without the connection time is preferred when pgbench prints both. When there is
    no latency line (old pgbench without -T/-L), it is derived from the clients and the tps.
    """
    found = {qualifier: float(value) for value, qualifier in _TPS.findall(output)}
    if not found:
        raise ValueError(f"no tps line in pgbench's output:\n{output}")
    tps = next(
        (value for qualifier, value in found.items() if not qualifier.startswith("including")),
        next(iter(found.values())),
    )
    latency = _LATENCY.search(output)
    if latency is not None:
        return tps, float(latency.group(1))
    clients = _CLIENTS.search(output)
    if clients is None or tps <= 0:
        raise ValueError(f"no latency average in pgbench's output:\n{output}")
    return tps, int(clients.group(1)) * 1000 / tps


def _run(command: list[str], *, what: str, timeout: float, stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as error:
        raise CeilingError(f"{what}: {command[0]} is not installed ({error})") from error
    except subprocess.TimeoutExpired as error:
        raise CeilingError(f"{what}: no answer within {timeout:.0f} s") from error
    if done.returncode != 0:
        raise CeilingError(
            f"{what} failed (exit {done.returncode}):\n{done.stderr.strip() or done.stdout}"
        )
    return done.stdout


def _psql(dsn: str, sql: str, *, what: str) -> str:
    command = [PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"]
    return _run(command, what=what, timeout=60, stdin=sql).strip()


def libpq_url(dsn: str) -> str:
    """`postgresql+asyncpg://...` (SQLAlchemy's spelling) as the libpq URL psql expects."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", dsn)


def measure_ceiling(dsn: str, *, clients: int = 8, threads: int = 2, seconds: int = 15) -> Ceiling:
    """Run the order-write transaction with pgbench for `seconds` against `dsn`."""
    dsn = libpq_url(dsn)
    synchronous_commit = _psql(dsn, "SHOW synchronous_commit;", what="SHOW synchronous_commit")
    _psql(dsn, SETUP_SQL, what=f"creating schema {SCHEMA}")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ceiling-") as tmp:
            script = Path(tmp) / "order_write.sql"
            script.write_text(PGBENCH_SCRIPT)
            command = [
                PGBENCH,
                "-n",  # no vacuum of pgbench's own tables: there are none
                "-M",
                "prepared",
                "-c",
                str(clients),
                "-j",
                str(min(threads, clients)),
                "-T",
                str(seconds),
                "-f",
                str(script),
                dsn,
            ]
            output = _run(command, what="pgbench", timeout=seconds + 120)
    finally:
        _psql(dsn, TEARDOWN_SQL, what=f"dropping schema {SCHEMA}")
    tps, latency_ms = parse_pgbench(output)
    return Ceiling(
        tps=round(tps, 1),
        clients=clients,
        seconds=float(seconds),
        latency_avg_ms=round(latency_ms, 3),
        synchronous_commit=synchronous_commit,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    parser.add_argument("dsn", help="libpq URL, e.g. postgresql://user:pass@127.0.0.1:5432/db")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args(argv)
    ceiling = measure_ceiling(
        args.dsn, clients=args.clients, threads=args.threads, seconds=args.seconds
    )
    print(json.dumps(ceiling.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
