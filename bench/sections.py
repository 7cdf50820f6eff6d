"""The sections of BENCHMARKS.md, a function each: a scenario's figures as text and tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bench.figures import (
    NOT_MEASURED,
    SERVICES,
    SERVICES_SUM,
    TIMES,
    Results,
    ceiling_tps,
    fmt,
    fmt_count,
    fmt_ms,
    fmt_rate,
    fmt_seconds,
    lookup,
    number_at,
    points_of,
    table,
)
from bench.targets import MARKS, Outcome, Target
from libs import registry


def targets_of(section: str, outcomes: Sequence[tuple[Target, Outcome]]) -> list[str]:
    return [
        f"- Target: {target.text}: **{MARKS[outcome.status]}**, {outcome.measured}"
        for target, outcome in outcomes
        if target.section == section
    ]


def machine(results: Results) -> list[str]:
    machine = lookup(results, "machine")
    if not isinstance(machine, Mapping) or not machine:
        return [NOT_MEASURED.capitalize() + "."]
    cpu = ", ".join(
        str(part)
        for part in (
            machine.get("cpu_model") or None,
            f"{machine['cpus']} CPUs" if machine.get("cpus") is not None else None,
        )
        if part
    )
    memory = number_at(machine, "memory_gb")
    rows = [
        ("CPU", cpu or None),
        ("Memory", f"{memory:.1f} GB" if memory is not None else None),
        ("OS", machine.get("os")),
        ("Python", machine.get("python")),
        ("PostgreSQL", machine.get("postgres")),
        ("Kafka", machine.get("kafka")),
    ]
    return table(("Part", "Value"), [(name, value) for name, value in rows if value])


def ceiling(results: Results) -> list[str]:
    ceiling = lookup(results, "ceiling")
    tps = ceiling_tps(results)
    if not isinstance(ceiling, Mapping) or tps is None:
        return [
            f"{NOT_MEASURED.capitalize()}: the throughputs below are given without their "
            "share of the ceiling."
        ]
    clients, seconds = number_at(ceiling, "clients"), number_at(ceiling, "seconds")
    return [
        "pgbench ran the shape of the transaction order-capture commits for one order (one "
        "order row with a ~300-byte address document, three order lines, one outbox row with "
        "a ~1.2 KB event) on the same PostgreSQL, with durable commits "
        f"(`synchronous_commit = {ceiling.get('synchronous_commit', 'unknown')}`):",
        "",
        *table(
            ("Transactions/s", "Clients", "Duration", "Average latency"),
            [
                (
                    fmt(tps),
                    fmt_count(clients),
                    fmt_seconds(seconds),
                    fmt_ms(number_at(ceiling, "latency_avg_ms")),
                )
            ],
        ),
        "",
        "The services do more per order than this transaction (HTTP, validation, the "
        "idempotency key, the timeline and the audit log), so the ceiling is an upper bound "
        "on this machine, not a target. Every throughput below also shows its share of it.",
    ]


def capture(results: Results, tps: float | None) -> list[str]:
    if lookup(results, "capture") is None:
        return [NOT_MEASURED.capitalize() + "."]
    lines = [
        "`POST /v1/orders`, three lines and an Idempotency-Key each: the highest rate of "
        "accepted orders (201) it sustains in a closed loop (wrk), then latency at 25, 50 and "
        "75 % of it in an open loop (bench.pacer, measured from each request's planned send). "
        "The closed loop's latency is wrk's (from the write, with wrk's own correction); read "
        "the open-loop rows for latency.",
        "",
        f"Highest sustained rate: **{fmt_rate(number_at(results, 'capture', 'max_rate'), tps)}**.",
        "",
    ]
    rows = [
        (
            point.get("label", ""),
            "closed loop"
            if point.get("offered") is None
            else fmt_rate(number_at(point, "offered"), tps),
            fmt_rate(number_at(point, "achieved"), tps),
            fmt_ms(number_at(point, "p50_ms")),
            fmt_ms(number_at(point, "p95_ms")),
            fmt_ms(number_at(point, "p99_ms")),
            fmt_count(number_at(point, "errors")),
        )
        for point in points_of(results, "capture")
    ]
    header = ("Load", "Offered", "Achieved", "p50", "p95", "p99", "Errors")
    return lines + table(header, rows)


def e2e(results: Results, tps: float | None) -> list[str]:
    if lookup(results, "e2e") is None:
        return [NOT_MEASURED.capitalize() + "."]
    lines = [
        "Orders placed at a fixed rate (bench.pacer); each is timed from its POST's planned "
        "send until a subscriber sees its first `fulfillment_created` event (stock reserved, "
        "payment authorised, fulfilment order created). The rate doubles from 25/s until the "
        "backlog (orders offered but not yet routed) grows, then is tried once between the "
        "last flat and the first growing rate; 100/s is always measured. The backlog is flat "
        "when its slope over the second half of the window is under 5 % of the rate and no "
        "order was refused. Achieved is orders routed a second; CPU is every service's "
        "CPU per routed order (see below).",
        "",
        "Highest rate with a flat backlog: "
        f"**{fmt_rate(number_at(results, 'e2e', 'max_flat_rate'), tps)}**.",
        "",
    ]
    rows = []
    for point in points_of(results, "e2e"):
        flat = point.get("backlog_flat")
        rows.append(
            (
                point.get("label", ""),
                fmt_rate(number_at(point, "achieved"), tps),
                fmt_count(number_at(point, "placed")),
                fmt_count(number_at(point, "unrouted")),
                fmt_ms(number_at(point, "p50_ms")),
                fmt_ms(number_at(point, "p99_ms")),
                fmt_count(number_at(point, "max_backlog")),
                fmt(number_at(point, "backlog_slope")),
                "—" if flat is None else ("yes" if flat else "no"),
                fmt_ms(number_at(point, "cpu_ms_per_order")),
            )
        )
    header = (
        "Offered",
        "Routed/s",
        "Placed",
        "Not routed",
        "p50",
        "p99",
        "Max backlog",
        "Backlog slope (/s)",
        "Flat",
        "CPU/order",
    )
    return lines + table(header, rows)


GROUP_NAMES = {
    **{service.name: service.deploy_name for service in registry.SERVICES},
    SERVICES_SUM: "**the services together**",
    "postgresql": "PostgreSQL (this run's backends and the shared processes)",
    "kafka": "Kafka (the broker, shared)",
    "load generator": "load generator (bench.pacer)",
    "benchmark": "the benchmark's own process (routed watch)",
}


def cpu(results: Results) -> list[str]:
    per_order = lookup(results, "e2e", "cpu", "ms_per_order")
    if not isinstance(per_order, Mapping) or not per_order:
        return [NOT_MEASURED.capitalize() + "."]
    rate, orders = (
        number_at(results, "e2e", "cpu", "rate"),
        number_at(results, "e2e", "cpu", "orders"),
    )
    seconds = number_at(results, "e2e", "cpu", "seconds")
    order = [*SERVICES, SERVICES_SUM, "postgresql", "kafka", "load generator", "benchmark"]
    names = [name for name in order if name in per_order]
    names += [name for name in per_order if name not in names]
    rows = [(GROUP_NAMES.get(name, name), fmt_ms(number_at(per_order, name))) for name in names]
    return [
        f"CPU time (user + system, from /proc) each process group used from the first planned "
        f"send of the end-to-end run at {fmt(rate)}/s until all its {fmt_count(orders)} orders "
        f"were routed and the services were idle again ({fmt_seconds(seconds)}), divided by "
        "the orders routed. A service counts with every process it started, less what it uses "
        "idle (relay polls, job timers: measured for 3 s just before, over the same time). "
        "PostgreSQL (this run's backends and the server's shared processes) and Kafka count "
        "all they used: they also serve anything else on this machine at the time, so their "
        "figures are upper bounds. It is taken at 100/s if every request there was accepted "
        "and every order routed, else at the highest rate where they were.",
        "",
        *table(("Process group", "CPU per routed order"), rows),
    ]


def overload(results: Results) -> list[str]:
    found = lookup(results, "overload")
    if not isinstance(found, Mapping) or number_at(found, "offered") is None:
        return [NOT_MEASURED.capitalize() + "."]
    refused = lookup(found, "refused")
    refusals = (
        ", ".join(f"{fmt_count(number_at(refused, k))} {TIMES} {k}" for k in refused)
        if isinstance(refused, Mapping) and refused
        else "none"
    )
    rows = [
        (
            "Offered",
            f"{fmt_count(number_at(found, 'offered'))} at {fmt(number_at(found, 'rate'))}/s",
        ),
        ("Accepted (201)", fmt_count(number_at(found, "accepted"))),
        (
            "Accepted p50 / p95 / p99",
            " / ".join(fmt_ms(number_at(found, f"accepted_{p}_ms")) for p in ("p50", "p95", "p99")),
        ),
        ("Refused, by status", refusals),
        ("503 without Retry-After", fmt_count(number_at(found, "shed_without_retry_after"))),
        ("Client time-outs (no answer within 10 s)", fmt_count(number_at(found, "timeouts"))),
        (
            "No answer: no connection, or the server closed it",
            fmt_count(number_at(found, "no_answer")),
        ),
        ("Slowest answer", fmt_ms(number_at(found, "slowest_ms"))),
        ("Accepted orders routed once", fmt_count(number_at(found, "routed_once"))),
        (
            "Accepted orders not routed (within the wait below)",
            fmt_count(number_at(found, "routed_never")),
        ),
        (
            "Accepted orders routed more than once",
            fmt_count(number_at(found, "routed_more_than_once")),
        ),
        (
            "Waited for the accepted orders to be routed",
            fmt_seconds(number_at(found, "drain_seconds")),
        ),
    ]
    after = (
        " It runs last, after growth, on the grown databases: a stack that queues instead of "
        "shedding is left with the orders of every request it read, and only stopping it "
        "ends that."
        if found.get("after_growth")
        else ""
    )
    return [
        "`POST /v1/orders` offered far beyond what capture sustains, at a fixed rate "
        "(bench.pacer, open loop, 10 s client time-out, a new connection whenever every open "
        "one is busy). A service that sheds load answers what it cannot take at once with 503 "
        "and Retry-After, and keeps the latency of what it accepts; one that queues makes "
        "every client wait until it gives up. Each accepted order must then be routed exactly "
        "once (`order_routed` events on orchestration's topic, by distinct event id)." + after,
        "",
        *table(("Measure", "Value"), rows),
    ]


def _generator_rows(results: Results) -> list[tuple[str, Mapping[str, Any]]]:
    """(run, the generator's cost) of every run that reports one."""
    found: list[tuple[str, Mapping[str, Any]]] = []

    def add(name: str, data: Any) -> None:
        cost = lookup(data, "generator")
        if isinstance(cost, Mapping):
            found.append((name, cost))

    for point in points_of(results, "capture"):
        add(f"capture {point.get('label', '')}", point)
    for point in points_of(results, "e2e"):
        add(f"end to end {point.get('label', '')}", point)
    add("overload", lookup(results, "overload"))
    availability = lookup(results, "availability")
    if isinstance(availability, Mapping):
        for count, entry in availability.items():
            add(f"availability, {count} SKUs", entry)
    return found


def generators(results: Results) -> list[str]:
    rows = [
        (
            name,
            cost.get("tool", "?"),
            fmt_count(number_at(cost, "requests")),
            f"{fmt(number_at(cost, 'cpu_us_per_request'))} µs"
            if number_at(cost, "cpu_us_per_request") is not None
            else "—",
            "—" if (share := number_at(cost, "core_share")) is None else f"{share * 100:.1f} %",
            fmt_ms(number_at(cost, "p99_send_lag_ms")),
        )
        for name, cost in _generator_rows(results)
    ]
    if not rows:
        return [NOT_MEASURED.capitalize() + "."]
    return [
        "The load generators run on the machine they measure, so what they cost is measured "
        "too: user + system CPU of the generator's process (wrk's from `wait4`, bench.pacer's "
        "from `getrusage` over the run), per request and as a share of one core over the "
        "run. Send lag is how late bench.pacer wrote a request after its planned moment (its "
        "latency still runs from the plan).",
        "",
        *table(
            ("Run", "Generator", "Requests", "CPU per request", "Share of a core", "p99 send lag"),
            rows,
        ),
    ]


def availability(results: Results, tps: float | None) -> list[str]:
    found = lookup(results, "availability")
    if not isinstance(found, Mapping) or not found:
        return [NOT_MEASURED.capitalize() + "."]
    rows = [
        (
            count,
            fmt_rate(number_at(entry, "rate"), tps),
            fmt_ms(number_at(entry, "p50_ms")),
            fmt_ms(number_at(entry, "p95_ms")),
            fmt_ms(number_at(entry, "p99_ms")),
        )
        for count, entry in sorted(found.items(), key=lambda item: _sort_key(item[0]))
        if isinstance(entry, Mapping)
    ]
    return [
        "`GET /v1/availability` for 10 and for 50 SKUs per request, each SKU held at 100 "
        "locations, at a fixed rate; and `GET /v1/availability/compact` for 50 (the same "
        "answer with the locations listed once and two arrays per SKU: ~55 KB where the full "
        "shape is ~690 KB). The target is read from the compact shape.",
        "",
        *table(("SKUs per request", "Rate", "p50", "p95", "p99"), rows),
    ]


def _sort_key(key: str) -> tuple[int, float, str]:
    try:
        return (0, float(key), key)
    except ValueError:
        return (1, 0.0, key)


def hot_sku(results: Results, tps: float | None) -> list[str]:
    hot = lookup(results, "hot_sku")
    if not isinstance(hot, Mapping):
        return [NOT_MEASURED.capitalize() + "."]
    runs = [run for run in ("sustained", "burst") if isinstance(lookup(hot, run), Mapping)]
    if not runs:
        return [NOT_MEASURED.capitalize() + "."]
    measures: tuple[tuple[str, str, Callable[[float | None], str]], ...] = (
        ("Reservations attempted", "reservations", fmt_count),
        ("Concurrency", "concurrency", fmt_count),
        ("Stock", "stock", fmt_count),
        ("Reserved", "reserved", fmt_count),
        ("Refused (no stock left)", "refused", fmt_count),
        ("Shed (503 overloaded)", "shed", fmt_count),
        ("Oversold", "oversold", fmt_count),
        ("Time for all of them", "seconds", fmt_seconds),
        ("Reservations decided/s", "per_second", lambda rate: fmt_rate(rate, tps)),
    )
    rows = [
        (name, *(show(number_at(hot, run, key)) for run in runs)) for name, key, show in measures
    ]
    return [
        "`POST /v1/reservations` of one unit of one SKU at one location. Sustained: 16 "
        "clients (wrk), each sending its next reservation when the last was answered, for "
        "as long as a capture point runs (the rate one stock row sustains; the target's "
        "figure). Burst: every request sent at once against less stock than requests, more "
        "than a process admits at a time, so some are shed with 503 and Retry-After. A "
        "decided reservation is held (201) or refused for want of stock (409); a shed one "
        "decided nothing and is not counted. None may reserve a unit that is not there.",
        "",
        *table(("Measure", *(run.capitalize() for run in runs)), rows),
    ]


def growth(results: Results, tps: float | None) -> list[str]:
    growth = lookup(results, "growth")
    if not isinstance(growth, Mapping) or not growth:
        return [NOT_MEASURED.capitalize() + "."]
    rows = [
        (
            name,
            fmt_count(number_at(data, "orders")),
            fmt_count(number_at(data, "orders_in_db")),
            fmt_count(number_at(data, "skus")),
            fmt_rate(number_at(data, "capture_max_rate"), tps),
            ", ".join(fmt(rate) for rate in data.get("capture_runs", ())) or "-",
            fmt_ms(number_at(data, "availability", "10", "p99_ms")),
            fmt_ms(number_at(data, "availability_50_p99_ms")),
        )
        for name, data in growth.items()
        if isinstance(data, Mapping)
    ]
    header = (
        "Dataset",
        "Orders (at least)",
        "Orders in the database",
        "SKUs",
        "Capture max rate (median run)",
        "Capture runs (orders/s)",
        "Availability p99, 10 SKUs",
        "Availability p99, 50 SKUs",
    )
    return [
        "The capture saturation run (three times in a row, the median run reported: "
        "consecutive runs on one dataset differ by up to a tenth) and the availability run "
        "again, with the databases grown first to the small and then to the large number of "
        "orders, and 100,000 more "
        "SKUs in stock (each at 10 locations). The orders are copies of orders the benchmark "
        "placed through the API, with every row each service keeps for them (order, lines, "
        "timeline; saga, steps, routing decision, fulfilment, payment; reservation; returns' "
        "copy), written in SQL (bench/growth.py); the inbox, audit log and idempotency keys "
        "are not grown. The small dataset also holds the orders the earlier scenarios "
        "placed, so it may hold more than its number: copies only ever add.",
        "",
        *table(header, rows),
    ]


def memory(results: Results) -> list[str]:
    memory = lookup(results, "memory")
    if not isinstance(memory, Mapping) or not memory:
        return [NOT_MEASURED.capitalize() + "."]
    rows: list[tuple[str, ...]] = [
        (name, "—" if (mb := number_at(memory, name)) is None else f"{fmt(mb)} MB")
        for name in memory
    ]
    counts = lookup(results, "processes")
    if isinstance(counts, Mapping) and counts:
        rows = [
            (*row, fmt_count(number_at(counts, name)))
            for row, name in zip(rows, memory, strict=True)
        ]
        header: tuple[str, ...] = ("Service", "Peak RSS", "Processes")
    else:
        header = ("Service", "Peak RSS")
    return [
        "Peak resident memory of the largest process of each service during the run (a "
        "service's processes each hold their own memory; the target is per process), and the "
        "most processes the service was seen running.",
        "",
        *table(header, rows),
    ]


def profile(results: Results) -> list[str]:
    profiles = lookup(results, "profiles")
    if not isinstance(profiles, Sequence) or isinstance(profiles, str):
        single = lookup(results, "profile")
        profiles = [single] if isinstance(single, Mapping) else []
    lines: list[str] = []
    notes = lookup(results, "profile_notes")
    if notes:
        lines += [str(notes), ""]
    if not profiles:
        return [*lines, NOT_MEASURED.capitalize() + "."]
    for profile in profiles:
        if not isinstance(profile, Mapping):
            continue
        lines += [
            f"### {profile.get('service', 'a service')}",
            "",
            f"{profile.get('tool', 'A profiler')}, {profile.get('samples', '?')} busy samples "
            "during a closed-loop capture run of its own, after the measured one (the samplers "
            "slow the stack down). Our functions by inclusive share:",
            "",
            *table(("Function", "Share of samples"), _shares(profile.get("top"))),
            "",
            "Where the interpreter was (leaf frames):",
            "",
            *table(("Function", "Share of samples"), _shares(profile.get("leaves"))),
            "",
        ]
        if profile.get("notes"):
            lines += [str(profile["notes"]), ""]
    return lines


def _shares(entries: object) -> list[tuple[str, str]]:
    rows = []
    if isinstance(entries, Sequence) and not isinstance(entries, str):
        for entry in entries:
            if isinstance(entry, Sequence) and not isinstance(entry, str) and len(entry) >= 2:
                share = entry[1]
                shown = f"{share:.1f} %" if isinstance(share, int | float) else str(share)
                rows.append((f"`{entry[0]}`", shown))
    return rows
