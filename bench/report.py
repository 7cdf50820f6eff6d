"""BENCHMARKS.md, the latency-against-throughput plot and the raw results of one `make bench`.

The results are one JSON-able dict (bench/__main__.py assembles it); any section may be missing,
and the report then says so instead of failing. Every throughput is also shown as a share of the
pgbench ceiling measured in the same run (bench/ceiling.py), so the figures read the same on a
laptop and on a server. The issue's targets are data (bench.targets), each with its checker, and
each comes out met, missed or not measured; bench.sections writes a section per scenario from
the figures bench.figures reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from bench import sections
from bench.figures import (
    NOT_MEASURED,
    Results,
    ceiling_tps,
    fmt,
    fmt_count,
    fmt_ratio,
    fmt_when,
    lookup,
    number_at,
    points_of,
    table,
)
from bench.targets import MARKS, evaluate

MARKDOWN = Path("BENCHMARKS.md")
IMAGE = Path("bench") / "latency-vs-throughput.png"
RESULTS = Path("bench") / "results.json"


REPRODUCE = [
    "```sh",
    "make bench",
    "```",
    "",
    "`make bench` installs what it needs (the Python packages, and Debian's `wrk` when it is "
    "missing), then starts every service as `make run` runs them on the local PostgreSQL "
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
    limits = lookup(results, "limits")
    allowance = lookup(limits, "allowance")
    if not isinstance(allowance, Mapping):
        return []
    return [
        "Every setting is the services' default, the write limits too (1,000 writes a second "
        "per client and process, bursts of 2,000), with one exception: the benchmark's own "
        f"client id `{lookup(limits, 'client_id')}` has an explicit allowance of "
        f"{fmt_count(number_at(allowance, 'rate_per_s'))} writes a second (bursts of "
        f"{fmt_count(number_at(allowance, 'burst'))}) through `{lookup(limits, 'setting')}`. The "
        "benchmark is one client standing for every client of a peak, and it must measure "
        "the services' own limit (503), not the per-client one (429).",
        "",
    ]


def render_markdown(results: Results) -> str:
    tps = ceiling_tps(results)
    outcomes = evaluate(results)
    commit = results.get("commit")
    lines = [
        "# Benchmarks",
        "",
        f"Measured {fmt_when(results.get('date'))}"
        + (f" at commit `{commit}`" if commit else "")
        + " by `make bench`. This file is generated (bench/report.py): edit the code, not it.",
        "",
        "## Machine",
        "",
        *sections.machine(results),
        "",
        "## Targets",
        "",
        *table(
            ("Target", "Measured", "vs ceiling", "Result"),
            [
                (target.text, outcome.measured, fmt_ratio(outcome.ratio), MARKS[outcome.status])
                for target, outcome in outcomes
            ],
        ),
        "",
        f"![Latency against throughput]({IMAGE.as_posix()})",
        "",
        "## Ceiling: pgbench",
        "",
        *sections.ceiling(results),
    ]
    parts: list[tuple[str, str, list[str]]] = [
        ("Order capture", "capture", sections.capture(results, tps)),
        ("End to end", "e2e", sections.e2e(results, tps)),
        ("CPU per routed order", "cpu", sections.cpu(results)),
        ("Overload", "overload", sections.overload(results)),
        ("Availability", "availability", sections.availability(results, tps)),
        ("Hot SKU", "hot_sku", sections.hot_sku(results, tps)),
        ("Growth", "growth", sections.growth(results, tps)),
        ("Memory", "memory", sections.memory(results)),
        ("Load generators", "generators", sections.generators(results)),
    ]
    for title, key, body in parts:
        lines += ["", f"## {title}", "", *body]
        targets = sections.targets_of(key, outcomes)
        if targets:
            lines += ["", *targets]
    lines += ["", "## Profile", "", *sections.profile(results)]
    lines += ["", "## How to reproduce", "", *_limits(results), *REPRODUCE]
    return "\n".join(lines) + "\n"


# --- the plot ----------------------------------------------------------------------------------


def _series(points: Sequence[Mapping[str, Any]], field: str) -> tuple[list[float], list[float]]:
    pairs = sorted(
        (x, y)
        for point in points
        if (x := number_at(point, "achieved")) is not None
        and (y := number_at(point, field)) is not None
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
        xs, ys = _series(points_of(results, section), field)
        if xs:
            axes.plot(xs, ys, marker=marker, linestyle=style, label=label)
            drawn += 1
    tps = ceiling_tps(results)
    if tps is not None:
        axes.axvline(tps, color="grey", linestyle="--", label=f"pgbench ceiling ({fmt(tps)}/s)")
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
    axes.set_title(f"Latency against throughput, {fmt_when(results.get('date'))}")
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
