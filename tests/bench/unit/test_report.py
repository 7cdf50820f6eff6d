"""bench.report: the targets met, missed or not measured; BENCHMARKS.md's figures; the plot."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.figures import TIMES
from bench.report import plot, render_markdown, write
from bench.targets import CAPTURE_CEILING_SHARE, TARGETS, Status, evaluate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def full_results() -> dict[str, Any]:
    """Every section, every target met."""
    return {
        "date": "2026-11-24T06:00:00+00:00",
        "commit": "abc1234",
        "machine": {
            "cpus": 2,
            "memory_gb": 24.0,
            "os": "Debian 12",
            "python": "3.11.2",
            "postgres": "15.18",
            "kafka": "3.9.1",
            "cpu_model": "AMD EPYC 7B13",
        },
        "ceiling": {
            "tps": 1000.0,
            "clients": 8,
            "seconds": 15,
            "latency_avg_ms": 2.9,
            "synchronous_commit": "on",
        },
        "capture": {
            "max_rate": 900.0,
            "points": [
                {
                    "label": "max (closed loop)",
                    "offered": None,
                    "achieved": 900.0,
                    "p50_ms": 30.0,
                    "p95_ms": 60.0,
                    "p99_ms": 90.0,
                    "errors": 0,
                },
                {
                    "label": "25%",
                    "offered": 225.0,
                    "achieved": 224.8,
                    "p50_ms": 8.1,
                    "p95_ms": 15.0,
                    "p99_ms": 22.0,
                    "errors": 0,
                },
                {
                    "label": "50%",
                    "offered": 450.0,
                    "achieved": 449.0,
                    "p50_ms": 9.0,
                    "p95_ms": 17.0,
                    "p99_ms": 25.0,
                    "errors": 0,
                },
                {
                    "label": "75%",
                    "offered": 675.0,
                    "achieved": 670.0,
                    "p50_ms": 12.0,
                    "p95_ms": 25.0,
                    "p99_ms": 40.0,
                    "errors": 0,
                },
            ],
        },
        "e2e": {
            "points": [
                {
                    "label": "100/s",
                    "offered": 100.0,
                    "achieved": 99.0,
                    "p50_ms": 120.0,
                    "p99_ms": 300.0,
                    "backlog_flat": True,
                },
                {
                    "label": "200/s",
                    "offered": 200.0,
                    "achieved": 198.0,
                    "p50_ms": 150.0,
                    "p99_ms": 400.0,
                    "backlog_flat": True,
                    "cpu_ms_per_order": 9.9,
                    "generator": {
                        "tool": "bench.pacer",
                        "requests": 4000,
                        "cpu_us_per_request": 60.0,
                        "core_share": 0.012,
                        "p99_send_lag_ms": 1.2,
                    },
                },
            ],
            "max_flat_rate": 350.0,
            "cpu": {
                "rate": 100.0,
                "orders": 2000,
                "seconds": 31.5,
                "ms_per_order": {
                    "order_capture": 4.0,
                    "inventory": 2.0,
                    "orchestration": 3.0,
                    "returns": 0.5,
                    "services": 9.5,
                    "postgresql": 3.1,
                    "kafka": 0.8,
                    "load generator": 0.06,
                    "benchmark": 0.3,
                },
            },
        },
        "overload": {
            "rate": 1000.0,
            "seconds": 30.0,
            "offered": 30000,
            "accepted": 12000,
            "accepted_p50_ms": 40.0,
            "accepted_p95_ms": 200.0,
            "accepted_p99_ms": 450.0,
            "slowest_ms": 1500.0,
            "timeouts": 0,
            "no_answer": 0,
            "refused": {"503": 18000},
            "refused_other_than_503": 0,
            "shed_without_retry_after": 0,
            "routed_never": 0,
            "routed_once": 12000,
            "routed_more_than_once": 0,
            "drain_seconds": 20.0,
            "after_growth": True,
            "generator": {"tool": "bench.pacer", "requests": 30000, "cpu_us_per_request": 55.0},
        },
        "availability": {
            "10": {"p50_ms": 3.0, "p95_ms": 4.0, "p99_ms": 5.0, "rate": 300.0},
            "50": {"p50_ms": 6.0, "p95_ms": 9.0, "p99_ms": 12.0, "rate": 300.0},
            "50 compact": {"p50_ms": 4.0, "p95_ms": 6.0, "p99_ms": 8.0, "rate": 300.0},
        },
        "hot_sku": {
            "sustained": {
                "reservations": 1000,
                "concurrency": 16,
                "per_second": 650.0,
                "oversold": 0,
                "seconds": 1.54,
                "stock": 800,
                "reserved": 800,
                "refused": 200,
                "shed": 0,
            },
            "burst": {
                "reservations": 200,
                "concurrency": 200,
                "per_second": 400.0,
                "oversold": 0,
                "seconds": 0.31,
                "stock": 150,
                "reserved": 120,
                "refused": 0,
                "shed": 80,
            },
        },
        "growth": {
            "small": {
                "orders": 10000,
                "orders_in_db": 41_500,
                "skus": 100000,
                "capture_max_rate": 900.0,
                "availability_50_p99_ms": 5.0,
            },
            "large": {
                "orders": 1000000,
                "orders_in_db": 1_001_200,
                "skus": 100000,
                "capture_max_rate": 850.0,
                "capture_runs": [810.0, 850.0, 870.0],
                "availability_50_p99_ms": 6.0,
            },
        },
        "memory": {
            "order_capture": 95.0,
            "inventory": 90.0,
            "orchestration": 110.0,
            "returns": 80.0,
            "notifications": 70.0,
            "insights": 75.0,
        },
        "processes": {
            "order_capture": 3,
            "inventory": 1,
            "orchestration": 1,
            "returns": 1,
            "notifications": 1,
        },
        "limits": {
            "client_id": "bench",
            "allowance": {"rate_per_s": 100000, "burst": 100000},
            "setting": "<PREFIX>_WRITE_RATE_PER_CLIENT",
        },
        "profile": {
            "tool": "py-spy",
            "service": "order_capture",
            "top": [
                ["place_order (services/order_capture/service_layer/handlers.py:30)", 23.5],
                ["execute (sqlalchemy/engine/base.py:1412)", 12.25],
            ],
            "notes": "Most samples wait on PostgreSQL.",
        },
    }


def statuses(results: dict[str, Any]) -> dict[str, Status]:
    return {target.key: outcome.status for target, outcome in evaluate(results)}


def test_every_target_is_met_on_good_figures() -> None:
    assert statuses(full_results()) == {target.key: Status.MET for target in TARGETS}


def test_every_target_is_not_measured_on_empty_results() -> None:
    assert statuses({}) == {target.key: Status.NOT_MEASURED for target in TARGETS}


def _missed(change: str, value: Any) -> dict[str, Any]:
    results = full_results()
    *path, last = change.split(".")
    node: Any = results
    for key in path:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return results


@pytest.mark.parametrize(
    ("key", "change", "value"),
    [
        ("capture_rate", "capture.max_rate", 399.0),
        ("capture_rate", "ceiling.tps", 9001.0),  # 900/s is under 0.10 times this
        ("capture_p99_at_half", "capture.points.2.p99_ms", 100.5),
        ("e2e_p99_at_100", "e2e.points.0.p99_ms", 1001.0),
        ("e2e_flat_backlog", "e2e.max_flat_rate", 99.0),
        ("cpu_per_order", "e2e.cpu.ms_per_order.services", 12.1),
        ("overload_timeouts", "overload.timeouts", 1),
        ("overload_slowest", "overload.slowest_ms", 2001.0),
        ("overload_p99", "overload.accepted_p99_ms", 501.0),
        ("overload_refusals", "overload.shed_without_retry_after", 1),
        ("overload_refusals", "overload.refused_other_than_503", 2),
        ("overload_routed_once", "overload.routed_never", 1),
        ("overload_routed_once", "overload.routed_more_than_once", 1),
        ("availability_50_p99", "availability.50 compact.p99_ms", 20.1),
        ("hot_sku", "hot_sku.sustained.per_second", 299.0),
        ("hot_sku", "hot_sku.sustained.oversold", 1),
        ("hot_sku", "hot_sku.burst.oversold", 1),
        ("growth", "growth.large.capture_max_rate", 809.0),  # 0.899 times 900/s
        ("memory", "memory.orchestration", 150.5),
    ],
)
def test_a_figure_past_its_limit_misses_only_its_target(key: str, change: str, value: Any) -> None:
    found = statuses(_missed(change, value))
    assert found[key] is Status.MISSED
    assert {k for k, status in found.items() if status is not Status.MET} == {key}


@pytest.mark.parametrize(
    ("key", "change", "value"),
    [
        ("capture_rate", "capture.max_rate", 400.0),
        ("capture_rate", "ceiling.tps", 9000.0),  # 900/s is exactly 0.10 of it
        ("capture_p99_at_half", "capture.points.2.p99_ms", 100.0),
        ("e2e_p99_at_100", "e2e.points.0.p99_ms", 1000.0),
        ("e2e_flat_backlog", "e2e.max_flat_rate", 100.0),
        ("cpu_per_order", "e2e.cpu.ms_per_order.services", 12.0),
        ("overload_slowest", "overload.slowest_ms", 2000.0),
        ("overload_p99", "overload.accepted_p99_ms", 500.0),
        ("availability_50_p99", "availability.50 compact.p99_ms", 20.0),
        ("hot_sku", "hot_sku.sustained.per_second", 300.0),
        ("growth", "growth.large.capture_max_rate", 810.0),
        ("memory", "memory.orchestration", 150.0),
    ],
)
def test_a_figure_at_its_limit_meets_its_target(key: str, change: str, value: Any) -> None:
    assert statuses(_missed(change, value))[key] is Status.MET


@pytest.mark.parametrize(
    ("key", "section", "drop"),
    [
        ("capture_rate", "ceiling", None),  # a capture rate, nothing to compare it with
        ("capture_rate", "capture", "max_rate"),
        ("capture_p99_at_half", "capture", "points"),
        ("e2e_p99_at_100", "e2e", "points"),
        ("e2e_flat_backlog", "e2e", "max_flat_rate"),
        ("cpu_per_order", "e2e", "cpu"),
        ("overload_timeouts", "overload", None),
        ("overload_slowest", "overload", "slowest_ms"),
        ("overload_routed_once", "overload", "accepted"),
        ("availability_50_p99", "availability", "50 compact"),
        ("hot_sku", "hot_sku", "burst"),
        ("growth", "growth", "small"),
        ("memory", "memory", "returns"),  # the others measured, fine, one missing
    ],
)
def test_a_missing_figure_is_not_measured(key: str, section: str, drop: str | None) -> None:
    results = full_results()
    if drop is None:
        del results[section]
    else:
        del results[section][drop]
    assert statuses(results)[key] is Status.NOT_MEASURED


def test_no_half_rate_point_or_a_null_figure_is_not_measured() -> None:
    results = full_results()
    del results["capture"]["points"][2]
    results["hot_sku"]["sustained"]["per_second"] = None
    found = statuses(results)
    assert found["capture_p99_at_half"] is Status.NOT_MEASURED
    assert found["hot_sku"] is Status.NOT_MEASURED


def test_an_overload_that_accepted_nothing_proves_no_routing() -> None:
    results = full_results()
    results["overload"] |= {"accepted": 0, "routed_once": 0, "refused": {"503": 30000}}
    found = statuses(results)
    assert found["overload_routed_once"] is Status.NOT_MEASURED
    assert found["overload_p99"] is Status.NOT_MEASURED


def test_a_queueing_stack_misses_the_overload_targets_it_should() -> None:
    results = full_results()
    results["overload"] |= {
        "accepted": 400,
        "accepted_p99_ms": 9800.0,
        "slowest_ms": 9990.0,
        "timeouts": 29600,
        "refused": {},
        "routed_once": 400,
    }
    found = statuses(results)
    missed = {key for key, status in found.items() if status is Status.MISSED}
    assert missed == {"overload_timeouts", "overload_slowest", "overload_p99"}
    text = render_markdown(results)
    assert "| Client time-outs (no answer within 10 s) | 29,600 |" in text
    assert "every refusal is 503 with Retry-After | none refused |" in text


def test_refusals_are_told_by_status() -> None:
    results = full_results()
    results["overload"] |= {
        "refused": {"429": 3, "503": 100},
        "refused_other_than_503": 3,
        "shed_without_retry_after": 10,
    }
    outcome = dict(evaluate(results))
    found = next(o for t, o in outcome.items() if t.key == "overload_refusals")
    assert found.status is Status.MISSED
    assert found.measured == "90 503 with Retry-After, 10 without, 3 429"


def test_memory_over_the_limit_misses_even_with_a_service_unmeasured() -> None:
    results = full_results()
    del results["memory"]["returns"]
    results["memory"]["inventory"] = 151.0
    assert statuses(results)["memory"] is Status.MISSED


def test_the_ratio_sign_is_the_multiplication_sign() -> None:
    assert TIMES == "\u00d7"


def test_targets_are_data() -> None:
    limits = {target.key: target.limit for target in TARGETS}
    assert limits == {
        "capture_rate": 400.0,
        "capture_p99_at_half": 100.0,
        "e2e_flat_backlog": 100.0,
        "e2e_p99_at_100": 1000.0,
        "cpu_per_order": 12.0,
        "overload_timeouts": 0.0,
        "overload_slowest": 2000.0,
        "overload_p99": 500.0,
        "overload_refusals": 0.0,
        "overload_routed_once": 0.0,
        "hot_sku": 300.0,
        "availability_50_p99": 20.0,
        "growth": 0.90,
        "memory": 150.0,
    }
    assert CAPTURE_CEILING_SHARE == 0.10


# --- BENCHMARKS.md -----------------------------------------------------------------------------


def test_markdown_shows_throughputs_as_ratios_of_the_ceiling() -> None:
    results = full_results()
    results["capture"]["max_rate"] = 330.0  # missed: under 400/s
    text = render_markdown(results)
    assert text.startswith("# Benchmarks\n")
    assert "2026-11-24 06:00 UTC" in text
    assert "`abc1234`" in text
    assert "AMD EPYC 7B13, 2 CPUs" in text
    assert f"**330/s (0.33{TIMES} ceiling)**" in text  # capture's highest sustained rate
    quarter = f"| 25% | 225/s (0.23{TIMES} ceiling) | 225/s (0.22{TIMES} ceiling) | 8.1 ms |"
    assert quarter + " 15.0 ms | 22.0 ms | 0 |" in text
    assert f"| max (closed loop) | closed loop | 900/s (0.90{TIMES} ceiling) |" in text
    assert f"**350/s (0.35{TIMES} ceiling)**" in text  # e2e flat backlog
    assert f"650/s (0.65{TIMES} ceiling)" in text  # hot SKU
    assert f"| 850/s (0.85{TIMES} ceiling) | 810, 850, 870 |" in text  # growth, large
    assert "| small | 10,000 | 41,500 |" in text  # what the database held, not just the goal
    assert "850/s large (1,001,200 orders) vs 900/s small (41,500 orders) (0.94" in text
    assert f"| 50 | 300/s (0.30{TIMES} ceiling) | 6.0 ms | 9.0 ms | 12.0 ms |" in text
    assert "`synchronous_commit = on`" in text


def test_markdown_summary_table_marks_each_target() -> None:
    results = full_results()
    results["capture"]["max_rate"] = 330.0
    text = render_markdown(results)
    summary = text.split("## Targets")[1].split("##")[0]
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "Target" not in line]
    assert len(rows) == len(TARGETS)
    assert (
        f"| Order capture sustains ≥ 400 orders/s and ≥ 0.10{TIMES} the pgbench ceiling "
        f"| 330/s of 1000/s | 0.33{TIMES} | ❌ missed |" in rows
    )
    assert sum("✅ met" in row for row in rows) == len(TARGETS) - 1
    assert (
        f"| Hot SKU ≥ 300 reservations/s, none oversold | 650/s, 0 oversold | 0.65{TIMES} "
        "| ✅ met |" in rows
    )
    assert "![Latency against throughput](bench/latency-vs-throughput.png)" in text


def test_markdown_profile_and_reproduce_sections() -> None:
    text = render_markdown(full_results())
    profile = text.split("## Profile")[1].split("## How to reproduce")[0]
    assert "py-spy" in profile
    assert (
        "| `place_order (services/order_capture/service_layer/handlers.py:30)` | 23.5 % |"
        in profile
    )
    assert "12.2 %" in profile or "12.3 %" in profile
    assert "Most samples wait on PostgreSQL." in profile
    reproduce = text.split("## How to reproduce")[1]
    for words in (
        "make bench",
        "test databases, migrated from",
        "topic prefix of their own",
        "not part of `make test`",
        "python -m bench --help",
    ):
        assert words in reproduce


def test_markdown_of_empty_results_says_not_measured() -> None:
    text = render_markdown({})
    for section in (
        "Machine",
        "Ceiling: pgbench",
        "Order capture",
        "End to end",
        "CPU per routed order",
        "Overload",
        "Availability",
        "Hot SKU",
        "Growth",
        "Memory",
        "Load generators",
        "Profile",
    ):
        body = text.split(f"## {section}\n")[1].split("\n## ")[0]
        assert "ot measured in this run" in body, section
    assert "✅" not in text and "❌" not in text
    assert text.count("| not measured |") == len(TARGETS)


def test_markdown_without_a_ceiling_shows_plain_rates() -> None:
    results = full_results()
    del results["ceiling"]
    text = render_markdown(results)
    assert f"{TIMES} ceiling" not in text
    assert "**900/s**" in text
    assert "900/s; the ceiling was not measured" in text


def test_markdown_survives_odd_values() -> None:
    results = full_results()
    results["capture"]["points"].append("garbage")
    results["capture"]["points"][1]["p99_ms"] = "n/a"
    results["availability"]["50"] = None
    results["memory"]["returns"] = None
    results["profile"]["top"] = [["only a name"], "x"]
    text = render_markdown(results)
    quarter = f"| 25% | 225/s (0.23{TIMES} ceiling) | 225/s (0.22{TIMES} ceiling) | 8.1 ms |"
    assert quarter + " 15.0 ms | — | 0 |" in text


# --- the plot and the files --------------------------------------------------------------------


def test_plot_full_results_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "plot.png"
    plot(full_results(), path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000


@pytest.mark.parametrize(
    "results",
    [{}, {"date": "not a date"}, {"ceiling": {"tps": 1000.0}}, {"capture": {"points": []}}],
    ids=["empty", "bad-date", "ceiling-only", "no-points"],
)
def test_plot_without_figures_still_writes_a_png(tmp_path: Path, results: dict[str, Any]) -> None:
    path = tmp_path / "sub" / "plot.png"
    plot(results, path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_write_creates_the_three_files(tmp_path: Path) -> None:
    results = full_results()
    markdown, image = write(copy.deepcopy(results), tmp_path)
    assert markdown == tmp_path / "BENCHMARKS.md"
    assert image == tmp_path / "bench" / "latency-vs-throughput.png"
    assert markdown.read_text(encoding="utf-8") == render_markdown(results)
    assert image.read_bytes().startswith(PNG_SIGNATURE)
    raw = tmp_path / "bench" / "results.json"
    assert json.loads(raw.read_text(encoding="utf-8")) == results


def test_write_empty_results(tmp_path: Path) -> None:
    markdown, image = write({}, tmp_path)
    assert markdown.is_file() and image.stat().st_size > 0
    assert (tmp_path / report.RESULTS).read_text(encoding="utf-8").strip() == "{}"
