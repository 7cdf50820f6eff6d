"""BENCHMARKS.md, the latency-against-throughput plot and the raw results of one `make bench`.

The results are one JSON-able dict (bench/__main__.py assembles it); any section may be missing,
and the report then says so instead of failing. Every throughput is also shown as a share of the
pgbench ceiling measured in the same run (bench/ceiling.py), so the figures read the same on a
laptop and on a server. The issue's targets are data (TARGETS), each with its checker, and each
comes out met, missed or not measured.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

MARKDOWN = Path("BENCHMARKS.md")
IMAGE = Path("bench") / "latency-vs-throughput.png"
RESULTS = Path("bench") / "results.json"

NOT_MEASURED = "not measured in this run"
# The sign of "0.33 times the ceiling", by name: ruff (RUF001) flags the character itself.
TIMES = "\N{MULTIPLICATION SIGN}"
SERVICES = ("order_capture", "inventory", "orchestration", "returns")
SERVICES_SUM = "services"  # bench.cpu's name for the sum over the four services


class Status(StrEnum):
    MET = "met"
    MISSED = "missed"
    NOT_MEASURED = "not measured"


MARKS = {Status.MET: "✅ met", Status.MISSED: "❌ missed", Status.NOT_MEASURED: "not measured"}


@dataclass(frozen=True)
class Outcome:
    status: Status
    measured: str = NOT_MEASURED
    ratio: float | None = None  # the throughput as a share of the ceiling, where it is one


Results = Mapping[str, Any]
Check = Callable[[Results, float], Outcome]


@dataclass(frozen=True)
class Target:
    key: str
    section: str  # the results section it reads first
    text: str
    limit: float
    check: Check

    def evaluate(self, results: Results) -> Outcome:
        return self.check(results, self.limit)


# --- reading the results: missing, null or non-numeric is "not measured" ----------------------


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _number(data: Any, *path: str) -> float | None:
    value = _get(data, *path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _ceiling(results: Results) -> float | None:
    tps = _number(results, "ceiling", "tps")
    return tps if tps is not None and tps > 0 else None


def _points(results: Results, section: str) -> list[Mapping[str, Any]]:
    points = _get(results, section, "points")
    if not isinstance(points, Sequence) or isinstance(points, str):
        return []
    return [point for point in points if isinstance(point, Mapping)]


def _point(results: Results, section: str, label: str) -> Mapping[str, Any] | None:
    return next((p for p in _points(results, section) if p.get("label") == label), None)


# --- formatting --------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if abs(value) >= 100 else f"{value:.1f} ms"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}{TIMES}"


def _rate(value: float | None, ceiling: float | None, unit: str = "/s") -> str:
    """A throughput and its share of the ceiling when there is one: '900/s (0.33x ceiling)'."""
    if value is None:
        return "—"
    if ceiling is None:
        return f"{_fmt(value)}{unit}"
    return f"{_fmt(value)}{unit} ({value / ceiling:.2f}{TIMES} ceiling)"


def _share(value: float | None, ceiling: float | None) -> float | None:
    return None if value is None or ceiling is None else value / ceiling


def _when(date: Any) -> str:
    if not isinstance(date, str) or not date:
        return "an unrecorded date"
    try:
        parsed = datetime.fromisoformat(date)
    except ValueError:
        return date
    offset = parsed.utcoffset()
    if offset is None:
        return parsed.strftime("%Y-%m-%d %H:%M")
    return parsed.strftime("%Y-%m-%d %H:%M UTC" if not offset else "%Y-%m-%d %H:%M %z")


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


# --- the targets -------------------------------------------------------------------------------


def _met(ok: bool) -> Status:
    return Status.MET if ok else Status.MISSED


CAPTURE_CEILING_SHARE = 0.10


def _capture_rate(results: Results, rate: float) -> Outcome:
    found, tps = _number(results, "capture", "max_rate"), _ceiling(results)
    if found is None:
        return Outcome(Status.NOT_MEASURED)
    if tps is None:
        return Outcome(Status.NOT_MEASURED, f"{_fmt(found)}/s; the ceiling was not measured")
    ok = found >= rate and found >= CAPTURE_CEILING_SHARE * tps
    return Outcome(_met(ok), f"{_fmt(found)}/s of {_fmt(tps)}/s", found / tps)


def _latency_at(section: str, label: str, field: str = "p99_ms") -> Check:
    def check(results: Results, limit_ms: float) -> Outcome:
        point = _point(results, section, label)
        latency = _number(point, field)
        if point is None or latency is None:
            return Outcome(Status.NOT_MEASURED)
        achieved, errors = _number(point, "achieved"), _number(point, "errors")
        measured = f"p99 {_ms(latency)} at {_fmt(achieved)}/s achieved"
        if errors:
            measured += f", {_fmt(errors)} errors"
        return Outcome(_met(latency <= limit_ms), measured)

    return check


def _e2e_flat(results: Results, rate: float) -> Outcome:
    flat = _number(results, "e2e", "max_flat_rate")
    if flat is None:
        return Outcome(Status.NOT_MEASURED)
    return Outcome(_met(flat >= rate), f"{_fmt(flat)}/s", _share(flat, _ceiling(results)))


def _cpu_per_order(results: Results, limit_ms: float) -> Outcome:
    summed = _number(results, "e2e", "cpu", "ms_per_order", SERVICES_SUM)
    if summed is None:
        return Outcome(Status.NOT_MEASURED)
    rate, orders = _number(results, "e2e", "cpu", "rate"), _number(results, "e2e", "cpu", "orders")
    measured = f"{summed:.1f} ms at {_fmt(rate)}/s ({_count(orders)} orders)"
    return Outcome(_met(summed <= limit_ms), measured)


def _overload(check: Callable[[Mapping[str, Any], float], Outcome]) -> Check:
    def checked(results: Results, limit: float) -> Outcome:
        found = _get(results, "overload")
        if not isinstance(found, Mapping) or _number(found, "offered") is None:
            return Outcome(Status.NOT_MEASURED)
        return check(found, limit)

    return checked


def _overload_timeouts(found: Mapping[str, Any], limit: float) -> Outcome:
    timeouts = _number(found, "timeouts") or 0.0
    measured = f"{_count(timeouts)} of {_count(_number(found, 'offered'))}"
    if no_answer := _number(found, "no_answer"):
        measured += f"; {_count(no_answer)} connections lost"
    return Outcome(_met(timeouts <= limit), measured)


def _overload_slowest(found: Mapping[str, Any], limit_ms: float) -> Outcome:
    slowest = _number(found, "slowest_ms")
    if slowest is None:
        return Outcome(Status.NOT_MEASURED)
    # The time-outs have their own target: this one is about the answers that came.
    timeouts = _number(found, "timeouts") or 0.0
    measured = f"slowest {_ms(slowest)}" + (
        f" ({_count(timeouts)} never answered)" if timeouts else ""
    )
    return Outcome(_met(slowest <= limit_ms), measured)


def _overload_p99(found: Mapping[str, Any], limit_ms: float) -> Outcome:
    accepted, p99 = _number(found, "accepted"), _number(found, "accepted_p99_ms")
    if not accepted or p99 is None:
        return Outcome(Status.NOT_MEASURED, "no order was accepted")
    return Outcome(_met(p99 <= limit_ms), f"p99 {_ms(p99)} of {_count(accepted)} accepted")


def _overload_refusals(found: Mapping[str, Any], limit: float) -> Outcome:
    refused = _get(found, "refused")
    counts = {str(k): v for k, v in refused.items()} if isinstance(refused, Mapping) else {}
    lacking = _number(found, "shed_without_retry_after") or 0.0
    other = _number(found, "refused_other_than_503") or 0.0
    shed = _number(counts, "503") or 0.0
    parts = [f"{_count(shed - lacking)} 503 with Retry-After"]
    if lacking:
        parts.append(f"{_count(lacking)} without")
    parts += [f"{_count(n)} {status}" for status, n in counts.items() if status != "503"]
    return Outcome(_met(lacking + other <= limit), ", ".join(parts))


def _overload_routed_once(found: Mapping[str, Any], limit: float) -> Outcome:
    accepted = _number(found, "accepted")
    never = _number(found, "routed_never") or 0.0
    more = _number(found, "routed_more_than_once") or 0.0
    if not accepted:
        return Outcome(Status.NOT_MEASURED, "no order was accepted")
    measured = (
        f"{_count(accepted)} accepted: {_count(never)} not routed, "
        f"{_count(more)} routed twice or more"
    )
    return Outcome(_met(never + more <= limit), measured)


def _availability_50(results: Results, limit_ms: float) -> Outcome:
    p99 = _number(results, "availability", "50", "p99_ms")
    if p99 is None:
        return Outcome(Status.NOT_MEASURED)
    rate = _number(results, "availability", "50", "rate")
    return Outcome(_met(p99 <= limit_ms), f"p99 {_ms(p99)} at {_fmt(rate)}/s")


def _hot_sku(results: Results, rate: float) -> Outcome:
    per_second = _number(results, "hot_sku", "per_second")
    oversold = _number(results, "hot_sku", "oversold")
    if per_second is None or oversold is None:
        return Outcome(Status.NOT_MEASURED)
    return Outcome(
        _met(per_second >= rate and oversold == 0),
        f"{_fmt(per_second)}/s, {_fmt(oversold)} oversold",
        _share(per_second, _ceiling(results)),
    )


def _growth(results: Results, share: float) -> Outcome:
    small = _number(results, "growth", "small", "capture_max_rate")
    large = _number(results, "growth", "large", "capture_max_rate")
    if small is None or large is None or small <= 0:
        return Outcome(Status.NOT_MEASURED)
    return Outcome(
        _met(large >= share * small),
        f"{_fmt(large)}/s large vs {_fmt(small)}/s small ({large / small:.2f}{TIMES})",
        _share(large, _ceiling(results)),
    )


def _memory(results: Results, limit_mb: float) -> Outcome:
    peaks = {s: mb for s in SERVICES if (mb := _number(results, "memory", s)) and mb > 0}
    if not peaks:
        return Outcome(Status.NOT_MEASURED)
    top = max(peaks, key=lambda s: peaks[s])
    missing = [s for s in SERVICES if s not in peaks]
    measured = f"peak {_fmt(peaks[top])} MB, {top}"
    if any(mb > limit_mb for mb in peaks.values()):
        status = Status.MISSED
    elif missing:
        status, measured = Status.NOT_MEASURED, f"{measured}; {', '.join(missing)} not measured"
    else:
        status = Status.MET
    return Outcome(status, measured)


OVERLOAD = "Overload at 1,000 orders/s"
TARGETS: tuple[Target, ...] = (
    Target(
        "capture_rate",
        "capture",
        f"Order capture sustains ≥ 400 orders/s and ≥ {CAPTURE_CEILING_SHARE:.2f}{TIMES} the "
        "pgbench ceiling",
        400.0,
        _capture_rate,
    ),
    Target(
        "capture_p99_at_half",
        "capture",
        "Order capture p99 ≤ 100 ms at 50 % of its highest sustained rate",
        100.0,
        _latency_at("capture", "50%"),
    ),
    Target(
        "e2e_flat_backlog",
        "e2e",
        "End to end (placed → routed) backlog stays flat up to ≥ 100 orders/s",
        100.0,
        _e2e_flat,
    ),
    Target(
        "e2e_p99_at_100",
        "e2e",
        "End to end p99 ≤ 1 s at 100 orders/s",
        1000.0,
        _latency_at("e2e", "100/s"),
    ),
    Target(
        "cpu_per_order",
        "cpu",
        "CPU per routed order ≤ 12 ms, summed over the four services",
        12.0,
        _cpu_per_order,
    ),
    Target(
        "overload_timeouts",
        "overload",
        f"{OVERLOAD}: no client time-outs (10 s)",
        0.0,
        _overload(_overload_timeouts),
    ),
    Target(
        "overload_slowest",
        "overload",
        f"{OVERLOAD}: every answer within 2 s",
        2000.0,
        _overload(_overload_slowest),
    ),
    Target(
        "overload_p99",
        "overload",
        f"{OVERLOAD}: accepted orders' p99 ≤ 500 ms",
        500.0,
        _overload(_overload_p99),
    ),
    Target(
        "overload_refusals",
        "overload",
        f"{OVERLOAD}: every refusal is 503 with Retry-After",
        0.0,
        _overload(_overload_refusals),
    ),
    Target(
        "overload_routed_once",
        "overload",
        f"{OVERLOAD}: every accepted order routed exactly once",
        0.0,
        _overload(_overload_routed_once),
    ),
    Target(
        "hot_sku",
        "hot_sku",
        "Hot SKU ≥ 300 reservations/s, none oversold",
        300.0,
        _hot_sku,
    ),
    Target(
        "availability_50_p99",
        "availability",
        "Availability of 50 SKUs p99 ≤ 20 ms",
        20.0,
        _availability_50,
    ),
    Target(
        "growth",
        "growth",
        f"Capture with 1 million orders ≥ 0.90{TIMES} capture with 10 thousand",
        0.90,
        _growth,
    ),
    Target(
        "memory",
        "memory",
        "Every service process's peak RSS ≤ 150 MB under load",
        150.0,
        _memory,
    ),
)


def evaluate(results: Results) -> list[tuple[Target, Outcome]]:
    return [(target, target.evaluate(results)) for target in TARGETS]


# --- BENCHMARKS.md -----------------------------------------------------------------------------


def _targets_of(section: str, outcomes: Sequence[tuple[Target, Outcome]]) -> list[str]:
    return [
        f"- Target: {target.text}: **{MARKS[outcome.status]}**, {outcome.measured}"
        for target, outcome in outcomes
        if target.section == section
    ]


def _machine(results: Results) -> list[str]:
    machine = _get(results, "machine")
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
    memory = _number(machine, "memory_gb")
    rows = [
        ("CPU", cpu or None),
        ("Memory", f"{memory:.1f} GB" if memory is not None else None),
        ("OS", machine.get("os")),
        ("Python", machine.get("python")),
        ("PostgreSQL", machine.get("postgres")),
        ("Kafka", machine.get("kafka")),
    ]
    return _table(("Part", "Value"), [(name, value) for name, value in rows if value])


def _ceiling_section(results: Results) -> list[str]:
    ceiling = _get(results, "ceiling")
    tps = _ceiling(results)
    if not isinstance(ceiling, Mapping) or tps is None:
        return [
            f"{NOT_MEASURED.capitalize()}: the throughputs below are given without their "
            "share of the ceiling."
        ]
    clients, seconds = _number(ceiling, "clients"), _number(ceiling, "seconds")
    return [
        "pgbench ran the shape of the transaction order-capture commits for one order (one "
        "order row with a ~300-byte address document, three order lines, one outbox row with "
        "a ~1.2 KB event) on the same PostgreSQL, with durable commits "
        f"(`synchronous_commit = {ceiling.get('synchronous_commit', 'unknown')}`):",
        "",
        *_table(
            ("Transactions/s", "Clients", "Duration", "Average latency"),
            [
                (
                    _fmt(tps),
                    _count(clients),
                    _seconds(seconds),
                    _ms(_number(ceiling, "latency_avg_ms")),
                )
            ],
        ),
        "",
        "The services do more per order than this transaction (HTTP, validation, the "
        "idempotency key, the timeline and the audit log), so the ceiling is an upper bound "
        "on this machine, not a target. Every throughput below also shows its share of it.",
    ]


def _capture(results: Results, tps: float | None) -> list[str]:
    if _get(results, "capture") is None:
        return [NOT_MEASURED.capitalize() + "."]
    lines = [
        "`POST /v1/orders`, three lines and an Idempotency-Key each: the highest rate of "
        "accepted orders (201) it sustains in a closed loop (wrk), then latency at 25, 50 and "
        "75 % of it in an open loop (bench.pacer, measured from each request's planned send). "
        "The closed loop's latency is wrk's (from the write, with wrk's own correction); read "
        "the open-loop rows for latency.",
        "",
        f"Highest sustained rate: **{_rate(_number(results, 'capture', 'max_rate'), tps)}**.",
        "",
    ]
    rows = [
        (
            point.get("label", ""),
            "closed loop"
            if point.get("offered") is None
            else _rate(_number(point, "offered"), tps),
            _rate(_number(point, "achieved"), tps),
            _ms(_number(point, "p50_ms")),
            _ms(_number(point, "p95_ms")),
            _ms(_number(point, "p99_ms")),
            _count(_number(point, "errors")),
        )
        for point in _points(results, "capture")
    ]
    header = ("Load", "Offered", "Achieved", "p50", "p95", "p99", "Errors")
    return lines + _table(header, rows)


def _e2e(results: Results, tps: float | None) -> list[str]:
    if _get(results, "e2e") is None:
        return [NOT_MEASURED.capitalize() + "."]
    lines = [
        "Orders placed at a fixed rate (bench.pacer); each is timed from its POST's planned "
        "send until a subscriber sees its first `fulfillment_created` event (stock reserved, "
        "payment authorised, fulfilment order created). The rate doubles from 25/s until the "
        "backlog (orders offered but not yet routed) grows, then is tried once between the "
        "last flat and the first growing rate; 100/s is always measured. The backlog is flat "
        "when its slope over the second half of the window is under 5 % of the rate and no "
        "order was refused. Achieved is orders routed a second; CPU is the four services' "
        "CPU per routed order (see below).",
        "",
        "Highest rate with a flat backlog: "
        f"**{_rate(_number(results, 'e2e', 'max_flat_rate'), tps)}**.",
        "",
    ]
    rows = []
    for point in _points(results, "e2e"):
        flat = point.get("backlog_flat")
        rows.append(
            (
                point.get("label", ""),
                _rate(_number(point, "achieved"), tps),
                _count(_number(point, "placed")),
                _count(_number(point, "unrouted")),
                _ms(_number(point, "p50_ms")),
                _ms(_number(point, "p99_ms")),
                _count(_number(point, "max_backlog")),
                _fmt(_number(point, "backlog_slope")),
                "—" if flat is None else ("yes" if flat else "no"),
                _ms(_number(point, "cpu_ms_per_order")),
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
    return lines + _table(header, rows)


GROUP_NAMES = {
    "order_capture": "order-capture",
    "inventory": "inventory",
    "orchestration": "orchestration",
    "returns": "returns",
    SERVICES_SUM: "**the four services**",
    "postgresql": "PostgreSQL (this run's backends and the shared processes)",
    "kafka": "Kafka (the broker, shared)",
    "load generator": "load generator (bench.pacer)",
    "benchmark": "the benchmark's own process (routed watch)",
}


def _cpu_section(results: Results) -> list[str]:
    per_order = _get(results, "e2e", "cpu", "ms_per_order")
    if not isinstance(per_order, Mapping) or not per_order:
        return [NOT_MEASURED.capitalize() + "."]
    rate, orders = _number(results, "e2e", "cpu", "rate"), _number(results, "e2e", "cpu", "orders")
    seconds = _number(results, "e2e", "cpu", "seconds")
    order = [*SERVICES, SERVICES_SUM, "postgresql", "kafka", "load generator", "benchmark"]
    names = [name for name in order if name in per_order]
    names += [name for name in per_order if name not in names]
    rows = [(GROUP_NAMES.get(name, name), _ms(_number(per_order, name))) for name in names]
    return [
        f"CPU time (user + system, from /proc) each process group used from the first planned "
        f"send of the end-to-end run at {_fmt(rate)}/s until all its {_count(orders)} orders "
        f"were routed and the services were idle again ({_seconds(seconds)}), less what each "
        "group uses idle (measured for 3 s just before, over the same time), divided by the "
        "orders routed. It is taken at 100/s if every request there was accepted and every "
        "order routed, else at the highest rate where they were. A service counts with every "
        "process it started. PostgreSQL's backends are this run's; its shared processes and "
        "the broker also serve anything else on this machine at the time, so their figures "
        "are upper bounds.",
        "",
        *_table(("Process group", "CPU per routed order"), rows),
    ]


def _overload_section(results: Results) -> list[str]:
    found = _get(results, "overload")
    if not isinstance(found, Mapping) or _number(found, "offered") is None:
        return [NOT_MEASURED.capitalize() + "."]
    refused = _get(found, "refused")
    refusals = (
        ", ".join(f"{_count(_number(refused, k))} {TIMES} {k}" for k in refused)
        if isinstance(refused, Mapping) and refused
        else "none"
    )
    rows = [
        ("Offered", f"{_count(_number(found, 'offered'))} at {_fmt(_number(found, 'rate'))}/s"),
        ("Accepted (201)", _count(_number(found, "accepted"))),
        (
            "Accepted p50 / p95 / p99",
            " / ".join(_ms(_number(found, f"accepted_{p}_ms")) for p in ("p50", "p95", "p99")),
        ),
        ("Refused, by status", refusals),
        ("503 without Retry-After", _count(_number(found, "shed_without_retry_after"))),
        ("Client time-outs (no answer within 10 s)", _count(_number(found, "timeouts"))),
        ("No answer: no connection, or the server closed it", _count(_number(found, "no_answer"))),
        ("Slowest answer", _ms(_number(found, "slowest_ms"))),
        ("Accepted orders routed once", _count(_number(found, "routed_once"))),
        (
            "Accepted orders not routed (within the wait below)",
            _count(_number(found, "routed_never")),
        ),
        ("Accepted orders routed more than once", _count(_number(found, "routed_more_than_once"))),
        ("Waited for the accepted orders to be routed", _seconds(_number(found, "drain_seconds"))),
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
        *_table(("Measure", "Value"), rows),
    ]


def _generator_rows(results: Results) -> list[tuple[str, Mapping[str, Any]]]:
    """(run, the generator's cost) of every run that reports one."""
    found: list[tuple[str, Mapping[str, Any]]] = []

    def add(name: str, data: Any) -> None:
        cost = _get(data, "generator")
        if isinstance(cost, Mapping):
            found.append((name, cost))

    for point in _points(results, "capture"):
        add(f"capture {point.get('label', '')}", point)
    for point in _points(results, "e2e"):
        add(f"end to end {point.get('label', '')}", point)
    add("overload", _get(results, "overload"))
    availability = _get(results, "availability")
    if isinstance(availability, Mapping):
        for count, entry in availability.items():
            add(f"availability, {count} SKUs", entry)
    return found


def _generators_section(results: Results) -> list[str]:
    rows = [
        (
            name,
            cost.get("tool", "?"),
            _count(_number(cost, "requests")),
            f"{_fmt(_number(cost, 'cpu_us_per_request'))} µs"
            if _number(cost, "cpu_us_per_request") is not None
            else "—",
            "—" if (share := _number(cost, "core_share")) is None else f"{share * 100:.1f} %",
            _ms(_number(cost, "p99_send_lag_ms")),
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
        *_table(
            ("Run", "Generator", "Requests", "CPU per request", "Share of a core", "p99 send lag"),
            rows,
        ),
    ]


def _availability(results: Results, tps: float | None) -> list[str]:
    found = _get(results, "availability")
    if not isinstance(found, Mapping) or not found:
        return [NOT_MEASURED.capitalize() + "."]
    rows = [
        (
            count,
            _rate(_number(entry, "rate"), tps),
            _ms(_number(entry, "p50_ms")),
            _ms(_number(entry, "p95_ms")),
            _ms(_number(entry, "p99_ms")),
        )
        for count, entry in sorted(found.items(), key=lambda item: _sort_key(item[0]))
        if isinstance(entry, Mapping)
    ]
    return [
        "`GET /v1/availability` for 10 and for 50 SKUs per request, each SKU held at 100 "
        "locations, at a fixed rate.",
        "",
        *_table(("SKUs per request", "Rate", "p50", "p95", "p99"), rows),
    ]


def _sort_key(key: str) -> tuple[int, float, str]:
    try:
        return (0, float(key), key)
    except ValueError:
        return (1, 0.0, key)


def _hot_sku_section(results: Results, tps: float | None) -> list[str]:
    hot = _get(results, "hot_sku")
    if not isinstance(hot, Mapping):
        return [NOT_MEASURED.capitalize() + "."]
    rows = [
        ("Reservations attempted", _count(_number(hot, "reservations"))),
        ("Concurrency", _count(_number(hot, "concurrency"))),
        ("Stock", _count(_number(hot, "stock"))),
        ("Reserved", _count(_number(hot, "reserved"))),
        ("Refused", _count(_number(hot, "refused"))),
        ("Oversold", _count(_number(hot, "oversold"))),
        ("Time for all of them", _seconds(_number(hot, "seconds"))),
        ("Reservations/s", _rate(_number(hot, "per_second"), tps)),
    ]
    return [
        "`POST /v1/reservations` of one unit of one SKU, every request sent at once, against "
        "less stock than requests: none may reserve a unit that is not there.",
        "",
        *_table(("Measure", "Value"), rows),
    ]


def _growth_section(results: Results, tps: float | None) -> list[str]:
    growth = _get(results, "growth")
    if not isinstance(growth, Mapping) or not growth:
        return [NOT_MEASURED.capitalize() + "."]
    rows = [
        (
            name,
            _count(_number(data, "orders")),
            _count(_number(data, "skus")),
            _rate(_number(data, "capture_max_rate"), tps),
            _ms(_number(data, "availability", "10", "p99_ms")),
            _ms(_number(data, "availability_50_p99_ms")),
        )
        for name, data in growth.items()
        if isinstance(data, Mapping)
    ]
    header = (
        "Dataset",
        "Orders",
        "SKUs",
        "Capture max rate",
        "Availability p99, 10 SKUs",
        "Availability p99, 50 SKUs",
    )
    return [
        "The capture saturation run and the availability run again, with the databases "
        "grown first to the small and then to the large number of orders, and 100,000 more "
        "SKUs in stock (each at 10 locations). The orders are copies of orders the benchmark "
        "placed through the API, with every row each service keeps for them (order, lines, "
        "timeline; saga, steps, routing decision, fulfilment, payment; reservation; returns' "
        "copy), written in SQL (bench/growth.py); the inbox, audit log and idempotency keys "
        "are not grown.",
        "",
        *_table(header, rows),
    ]


def _memory_section(results: Results) -> list[str]:
    memory = _get(results, "memory")
    if not isinstance(memory, Mapping) or not memory:
        return [NOT_MEASURED.capitalize() + "."]
    rows: list[tuple[str, ...]] = [
        (name, "—" if (mb := _number(memory, name)) is None else f"{_fmt(mb)} MB")
        for name in memory
    ]
    counts = _get(results, "processes")
    if isinstance(counts, Mapping) and counts:
        rows = [
            (*row, _count(_number(counts, name))) for row, name in zip(rows, memory, strict=True)
        ]
        header: tuple[str, ...] = ("Service", "Peak RSS", "Processes")
    else:
        header = ("Service", "Peak RSS")
    return [
        "Peak resident memory of the largest process of each service during the run (a "
        "service's processes each hold their own memory; the target is per process), and the "
        "most processes the service was seen running.",
        "",
        *_table(header, rows),
    ]


def _profile_section(results: Results) -> list[str]:
    profiles = _get(results, "profiles")
    if not isinstance(profiles, Sequence) or isinstance(profiles, str):
        single = _get(results, "profile")
        profiles = [single] if isinstance(single, Mapping) else []
    lines: list[str] = []
    notes = _get(results, "profile_notes")
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
            "during the capture saturation run. Our functions by inclusive share:",
            "",
            *_table(("Function", "Share of samples"), _shares(profile.get("top"))),
            "",
            "Where the interpreter was (leaf frames):",
            "",
            *_table(("Function", "Share of samples"), _shares(profile.get("leaves"))),
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


REPRODUCE = [
    "```sh",
    "make bench",
    "```",
    "",
    "`make bench` installs what it needs (the Python packages, and Debian's `wrk` when it is "
    "missing), then starts the four services as `make run` runs them on the local PostgreSQL "
    "and Kafka (`make infra`). They use the **test databases, migrated from scratch**, and a "
    "**topic prefix of their own** (deleted afterwards), so a benchmark never touches a `make "
    "run` stack's data. It measures the pgbench ceiling first, seeds 100 locations holding "
    "200 SKUs, runs the scenarios (growth and then overload last: growth grows the databases "
    "for good, and a stack that queues under overload is left with work only stopping it "
    "ends), samples each service's memory, and writes this file, "
    "`bench/latency-vs-throughput.png` and the raw figures in `bench/results.json`.",
    "",
    "It is **not part of `make test`**: it takes about 30 minutes (6 of them copying a "
    "million orders) and its figures depend on the machine. "
    "To run one scenario, or short runs to try the harness, see `python -m bench --help` "
    "(e.g. `.venv/bin/python -m bench --only capture`); `python -m bench.ceiling <libpq URL>` "
    "measures the ceiling alone.",
]


def _limits(results: Results) -> list[str]:
    limits = _get(results, "limits")
    allowance = _get(limits, "allowance")
    if not isinstance(allowance, Mapping):
        return []
    return [
        "Every setting is the services' default, the write limits too (1,000 writes a second "
        "per client and process, bursts of 2,000), with one exception: the benchmark's own "
        f"client id `{_get(limits, 'client_id')}` has an explicit allowance of "
        f"{_count(_number(allowance, 'rate_per_s'))} writes a second (bursts of "
        f"{_count(_number(allowance, 'burst'))}) through `{_get(limits, 'setting')}`. The "
        "benchmark is one client standing for every client of a peak, and it must measure "
        "the services' own limit (503), not the per-client one (429).",
        "",
    ]


def render_markdown(results: Results) -> str:
    tps = _ceiling(results)
    outcomes = evaluate(results)
    commit = results.get("commit")
    lines = [
        "# Benchmarks",
        "",
        f"Measured {_when(results.get('date'))}"
        + (f" at commit `{commit}`" if commit else "")
        + " by `make bench`. This file is generated (bench/report.py): edit the code, not it.",
        "",
        "## Machine",
        "",
        *_machine(results),
        "",
        "## Targets",
        "",
        *_table(
            ("Target", "Measured", "vs ceiling", "Result"),
            [
                (target.text, outcome.measured, _ratio(outcome.ratio), MARKS[outcome.status])
                for target, outcome in outcomes
            ],
        ),
        "",
        f"![Latency against throughput]({IMAGE.as_posix()})",
        "",
        "## Ceiling: pgbench",
        "",
        *_ceiling_section(results),
    ]
    sections: list[tuple[str, str, list[str]]] = [
        ("Order capture", "capture", _capture(results, tps)),
        ("End to end", "e2e", _e2e(results, tps)),
        ("CPU per routed order", "cpu", _cpu_section(results)),
        ("Overload", "overload", _overload_section(results)),
        ("Availability", "availability", _availability(results, tps)),
        ("Hot SKU", "hot_sku", _hot_sku_section(results, tps)),
        ("Growth", "growth", _growth_section(results, tps)),
        ("Memory", "memory", _memory_section(results)),
        ("Load generators", "generators", _generators_section(results)),
    ]
    for title, key, body in sections:
        lines += ["", f"## {title}", "", *body]
        targets = _targets_of(key, outcomes)
        if targets:
            lines += ["", *targets]
    lines += ["", "## Profile", "", *_profile_section(results)]
    lines += ["", "## How to reproduce", "", *_limits(results), *REPRODUCE]
    return "\n".join(lines) + "\n"


# --- the plot ----------------------------------------------------------------------------------


def _series(points: Sequence[Mapping[str, Any]], field: str) -> tuple[list[float], list[float]]:
    pairs = sorted(
        (x, y)
        for point in points
        if (x := _number(point, "achieved")) is not None
        and (y := _number(point, field)) is not None
        and x > 0
        and y > 0
    )
    return [x for x, _ in pairs], [y for _, y in pairs]


def plot(results: Results, path: Path) -> None:
    """Latency (log) against achieved throughput: capture and end-to-end points, the ceiling."""
    figure = Figure(figsize=(9, 5.5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    drawn = 0
    lines = [
        ("capture", "p50_ms", "capture p50", "o", "-"),
        ("capture", "p95_ms", "capture p95", "s", "-"),
        ("capture", "p99_ms", "capture p99", "^", "-"),
        ("e2e", "p50_ms", "end to end p50", "o", "--"),
        ("e2e", "p99_ms", "end to end p99", "^", "--"),
    ]
    for section, field, label, marker, style in lines:
        xs, ys = _series(_points(results, section), field)
        if xs:
            axes.plot(xs, ys, marker=marker, linestyle=style, label=label)
            drawn += 1
    tps = _ceiling(results)
    if tps is not None:
        axes.axvline(tps, color="grey", linestyle="--", label=f"pgbench ceiling ({_fmt(tps)}/s)")
    # Both axes logarithmic: the services' rates sit two orders of magnitude below the
    # ceiling, and on a linear axis every point would crowd against zero.
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.xaxis.set_major_formatter(ScalarFormatter())
    axes.yaxis.set_major_formatter(ScalarFormatter())
    if not drawn:
        axes.set_ylim(1, 1000)
        axes.text(
            0.5,
            0.5,
            f"latency {NOT_MEASURED}",
            transform=axes.transAxes,
            ha="center",
            va="center",
            color="grey",
        )
    if not drawn and tps is None:
        axes.set_xlim(1, 1000)
    axes.set_xlabel("achieved throughput (requests/s, log scale)")
    axes.set_ylabel("latency (ms, log scale)")
    axes.set_title(f"Latency against throughput, {_when(results.get('date'))}")
    axes.grid(True, which="both", alpha=0.3)
    if drawn or tps is not None:
        axes.legend(loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")


# --- writing it all ----------------------------------------------------------------------------


def write(results: Results, root: Path) -> tuple[Path, Path]:
    """BENCHMARKS.md, the plot and bench/results.json under `root`; returns the first two."""
    markdown, image, raw = root / MARKDOWN, root / IMAGE, root / RESULTS
    image.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot(results, image)
    markdown.write_text(render_markdown(results), encoding="utf-8")
    return markdown, image
