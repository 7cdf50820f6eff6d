"""Benchmark of the bulk stock import: a 100,000-row CSV, streamed, then applied.

    python -m bench.inventory_import                    # in-process, development database
    python -m bench.inventory_import http://127.0.0.1:8002   # a running inventory service

In-process, the database is migrated to head first and the apply job is driven here (one pass
after another, as the service's job would); against a URL the service's own job applies it
and this script polls. The file is generated row by row and streamed in 64 KiB pieces, so
neither side holds it whole. Rows go to 10 BENCH-* locations; a run re-counts the SKUs the
last one created (every row changes), `--fresh` uses new SKUs (every row is created).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from libs.auth.scopes import Scope
from libs.auth.settings import AuthSettings
from libs.auth.tokens import bearer
from tools import dev_auth

LOCATIONS = [f"BENCH-{n:02d}" for n in range(10)]
PIECE_BYTES = 64 * 1024


def csv_lines(rows: int, sku_prefix: str) -> Iterator[bytes]:
    yield b"location_code,sku,on_hand,safety_stock\n"
    per_location = -(-rows // len(LOCATIONS))
    for n in range(rows):
        code, sku = LOCATIONS[n // per_location], f"{sku_prefix}-{n % per_location:06d}"
        yield f"{code},{sku},{random.randint(0, 5000)},{random.randint(0, 5)}\n".encode()


async def pieces(lines: Iterator[bytes]) -> AsyncIterator[bytes]:
    buffer = bytearray()
    for line in lines:
        buffer += line
        if len(buffer) >= PIECE_BYTES:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


async def ensure_locations(client: httpx.AsyncClient) -> None:
    for code in LOCATIONS:
        r = await client.post(
            "/v1/locations",
            json={
                "code": code,
                "name": f"Benchmark {code}",
                "type": "warehouse",
                "address": {
                    "line1": "1 Bench St",
                    "city": "Berlin",
                    "postal_code": "10115",
                    "country": "DE",
                },
                "capabilities": ["ship"],
            },
        )
        if r.status_code not in (201, 409):
            raise SystemExit(f"cannot create location {code}: {r.status_code} {r.text}")


async def run(client: httpx.AsyncClient, *, rows: int, sku_prefix: str, apply: Any) -> None:
    await ensure_locations(client)
    started = time.perf_counter()
    r = await client.post(
        "/v1/stock/imports",
        content=pieces(csv_lines(rows, sku_prefix)),
        headers={"content-type": "text/csv"},
        timeout=600,
    )
    if r.status_code != 202:
        raise SystemExit(f"upload refused: {r.status_code} {r.text}")
    uploaded = time.perf_counter()
    import_id = r.json()["id"]
    found = r.json()
    while found["status"] not in ("completed", "failed"):
        await apply()
        found = (await client.get(f"/v1/stock/imports/{import_id}")).json()
    done = time.perf_counter()
    if found["status"] != "completed":
        raise SystemExit(f"import failed: {found['failure_reason']} {found['errors'][:5]}")
    total = done - started
    # In-process this is client and service together; the file itself is never held whole.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"rows={found['rows_applied']} upload_s={uploaded - started:.2f} "
        f"apply_s={done - uploaded:.2f} total_s={total:.2f} rows_per_s={rows / total:,.0f} "
        f"peak_rss_mb={peak_mb:.0f}"
    )


def admin_headers() -> dict[str, str]:
    """A back-office token signed with the development key (`make token`'s). In-process, the
    service is told to trust that key, unless the environment already names keys."""
    key = dev_auth.signing_key()
    os.environ.setdefault("OMS_AUTH_SIGNING_KEY", json.dumps(key))
    return bearer(AuthSettings().mint(client_id="bench", scopes=[Scope.ADMIN], key=key))


async def in_process(rows: int, sku_prefix: str) -> None:
    from libs.db.migrate import upgrade
    from services.inventory.api.app import create_app
    from services.inventory.bootstrap import apply_next_import, bootstrap

    await asyncio.to_thread(upgrade, "inventory")
    headers = admin_headers()
    container = bootstrap()
    app = create_app(container, parts=("api",))
    app.state.container = container

    async def apply() -> None:
        await apply_next_import(bus=container.bus, session_factory=container.session_factory)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as client:
        await run(client, rows=rows, sku_prefix=sku_prefix, apply=apply)
    await container.engine.dispose()


async def remote(url: str, rows: int, sku_prefix: str) -> None:
    async def apply() -> None:
        await asyncio.sleep(0.2)  # the service's own job applies it

    async with httpx.AsyncClient(base_url=url, headers=admin_headers()) as client:
        await run(client, rows=rows, sku_prefix=sku_prefix, apply=apply)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="a running inventory service; omitted: in-process")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--fresh", action="store_true", help="new SKUs: every row is created")
    args = parser.parse_args(argv)
    sku_prefix = f"BENCH-{uuid.uuid4().hex[:8]}" if args.fresh else "BENCH-SKU"
    if args.url:
        asyncio.run(remote(args.url, args.rows, sku_prefix))
    else:
        asyncio.run(in_process(args.rows, sku_prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
