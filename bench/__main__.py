"""`make bench`: the stack's figures beside the machine's own ceiling, measured in one run.

    python -m bench                       # every scenario; writes BENCHMARKS.md and the plot
    python -m bench --only capture,hot_sku --quick   # try the harness (figures not meaningful)

It starts every service (bench.stack), measures the pgbench ceiling on the same PostgreSQL,
seeds 100 locations with 200 SKUs, then runs the scenarios and samples each service's memory.
Growth grows the databases for good, and overload may leave a queueing stack with thousands of
orders still to work through: they run last, overload after growth (the report says so).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from typing import Any

from bench import report, scenarios
from bench.ceiling import measure_ceiling
from bench.stack import (
    CLIENT_ALLOWANCE,
    CLIENT_ID,
    ROOT,
    Stack,
    libpq_url,
    running_stack,
    settle,
    watch_memory,
)

SCENARIOS = (
    "ceiling",
    "capture",
    "end_to_end",
    "availability",
    "hot_sku",
    "growth",
    "overload",
)
# What earlier profiles showed and what was done about it (the tables below are this run's).
PROFILE_NOTES = (
    "Fixed from earlier profiles: inventory checked every location's time zone against "
    "`zoneinfo.available_timezones()`, which walks the tz database on disk on every call "
    "(70 % of inventory's time under capture load; now read once); orchestration made a new "
    "HTTP client, and so a new TLS context, for every question to inventory (16 %; now one "
    "per process); availability built a pydantic model per location entry (5,000 for 50 SKUs "
    "over 100 locations; PostgreSQL now writes the lists as JSON: 19 to 79 answers a second); "
    "loopback database connections negotiated TLS. From the end-to-end profile: the routing "
    "decision was turned into JSON with `dataclasses.asdict`, which deep-copies every leaf of "
    "a verdict for each of 100 candidates (20 % of orchestration's time; a one-pass "
    "converter now, 8 %); the daily-capacity count sent 100 locations as a VALUES list of "
    "literals, compiled anew for every order (now two bound arrays, compiled once), and had "
    "no index on (location, created_at); the saga worker routed and paid one saga at a time "
    "and slept half a second on average before a new saga (now up to 8 at once, woken by "
    "the commit that made the work due: placed-to-routed p50 at 10/s went from 756 to "
    "186 ms); consumers handled their partitions one after another (now at once, each in "
    "order). From the growth run: with a million fulfilment orders the daily-capacity count "
    "hashed the whole (location, created_at) index (94 ms a routing) and PostgreSQL JIT-"
    "compiled it for 200 ms on a wrong cost estimate (capture fell to 0.55x); it is now a "
    "count per location and the services' connections run without JIT (2 ms). Routing "
    "reuses inventory's location list for 2 s. Memory: fpdf2 (with Pillow and fontTools) "
    "loaded at start-up added 40 MB to orchestration and returns; it loads on the first "
    "label now. Still dominant: SQLAlchemy and asyncpg "
    "statement execution in every service (an order is about 15 statements in "
    "order-capture alone, and every service consumes one or two events per order), "
    "orchestration's routing (availability fetched for every order, 100 candidates "
    "filtered, scored and explained) and order-capture's re-read of the order it just "
    "wrote to render the response."
)


def machine() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo").read().splitlines():  # noqa: SIM115
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(pages / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgres": _run(["psql", "--version"]),
        "kafka": "3.9.1",
    }


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


async def measure(stack: Stack, only: set[str], timing: scenarios.Timing) -> dict[str, Any]:
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "machine": machine(),
    }
    if "ceiling" in only:
        # First, while the stack idles: the same PostgreSQL, the shape of an order write.
        seconds = 15 if timing == scenarios.Timing() else 5
        ceiling = await asyncio.to_thread(
            measure_ceiling, libpq_url("order_capture"), seconds=seconds
        )
        results["ceiling"] = ceiling.to_dict()
        print(f"ceiling: {ceiling.tps:,.0f} transactions/s", flush=True)
    await scenarios.seed_network(stack)
    # The seed's stock events reach orchestration's routing view before any order does.
    await settle(stack)
    memory = asyncio.create_task(watch_memory(stack))
    try:
        if "capture" in only:
            results["capture"] = await scenarios.capture(stack, timing)
            results["profiles"] = results["capture"].pop("profiles")
            results["profile_notes"] = PROFILE_NOTES
            print(f"capture: {results['capture']['max_rate']:,.0f} orders/s", flush=True)
        if "end_to_end" in only:
            results["e2e"] = await scenarios.end_to_end(stack, timing)
            print(f"end to end: {results['e2e']['max_flat_rate']:g} orders/s flat", flush=True)
        if "availability" in only:
            await settle(stack)
            results["availability"] = await scenarios.availability(stack, timing)
            print(f"availability: {json.dumps(results['availability'])}", flush=True)
        if "hot_sku" in only:
            await settle(stack)
            results["hot_sku"] = await scenarios.hot_sku(stack, timing)
            print(f"hot SKU: {json.dumps(results['hot_sku'])}", flush=True)
        if "growth" in only:
            # Late: it grows the databases for good.
            await settle(stack)
            results["growth"] = await scenarios.growth(stack, timing)
            print(f"growth: capture drop {results['growth']['capture_drop']}", flush=True)
        if "overload" in only:
            # Last: what a stack that queues is left with is only ended by stopping it.
            results["overload"] = await scenarios.overload(stack, timing)
            results["overload"]["after_growth"] = "growth" in only
            print(f"overload: {json.dumps(results['overload'])}", flush=True)
    finally:
        memory.cancel()
    results["memory"] = {name: round(mb, 1) for name, mb in stack.peak_rss_mb.items()}
    results["processes"] = dict(stack.process_counts)
    results["limits"] = {
        "client_id": CLIENT_ID,
        "allowance": CLIENT_ALLOWANCE,
        "setting": "<PREFIX>_WRITE_RATE_PER_CLIENT",
    }
    return results


async def main_async(only: set[str], timing: scenarios.Timing) -> dict[str, Any]:
    async with running_stack() as stack:
        return await measure(stack, only, timing)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--quick", action="store_true", help="short runs, to try the harness")
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {SCENARIOS}")
    timing = scenarios.Timing.quick() if args.quick else scenarios.Timing()
    results = asyncio.run(main_async(only, timing))
    markdown, image = report.write(results, ROOT)
    print(f"wrote {markdown.relative_to(ROOT)} and {image.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
