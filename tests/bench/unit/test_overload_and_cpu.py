"""The overload figures, routings counted per order, the rate whose CPU the report shows, and
which processes count as this run's PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from bench import cpu
from bench.end_to_end import ROUTING, RatePoint, RoutedWatch, cpu_point
from bench.load import Answer, Run
from bench.overload import summarize
from bench.pacer import FAILED, TIMEOUT


def routing(order_id: str, event_id: str) -> bytes:
    return json.dumps({"id": event_id, "type": ROUTING, "data": {"order_id": order_id}}).encode()


def test_routings_are_counted_by_distinct_event() -> None:
    watch = RoutedWatch()
    watch.take(routing("a", "e1"), 1.0)
    watch.take(routing("a", "e1"), 2.0)  # the same event delivered again: one routing
    watch.take(routing("b", "e2"), 1.0)
    watch.take(routing("b", "e3"), 3.0)  # a second routing of the same order
    assert watch.routing_counts(["a", "b", "c"]) == {"never": 1, "once": 1, "more": 1}


def overload_run() -> Run:
    answers = [Answer(n, float(n), 0.1 * (n + 1), 201, False, f"o{n}") for n in range(10)]
    answers += [Answer(10 + n, 10.0, 0.005, 503, True, "") for n in range(5)]
    answers += [
        Answer(20, 11.0, 0.004, 503, False, ""),  # shed without saying when to come back
        Answer(21, 11.0, 1.9, 429, True, ""),
        Answer(22, 11.0, 0.0, TIMEOUT, False, ""),
        Answer(23, 11.0, 0.0, FAILED, False, ""),
    ]
    return Run(offered=1000, planned_seconds=30, answers=answers, generator={"seconds": 31.0})


def test_overload_figures() -> None:
    found = summarize(overload_run(), {"never": 1, "once": 8, "more": 1}, drain_seconds=12.34)
    assert found["offered"] == 19 and found["accepted"] == 10
    assert found["accepted_p50_ms"] == 500.0 and found["accepted_p99_ms"] == 1000.0
    assert found["slowest_ms"] == 1900.0  # any answer counts, the 429 here
    assert (found["timeouts"], found["no_answer"]) == (1, 1)
    assert found["refused"] == {"429": 1, "503": 6}
    assert found["refused_other_than_503"] == 1
    assert found["shed_without_retry_after"] == 1
    assert (found["routed_never"], found["routed_once"], found["routed_more_than_once"]) == (
        1,
        8,
        1,
    )
    assert found["drain_seconds"] == 12.3
    assert found["generator"]["tool"] == "bench.pacer"


def test_a_rate_point_counts_refusals_and_what_was_offered_by_when() -> None:
    point = RatePoint(rate=10, seconds=2, start=100.0)
    point.take(Answer(0, 100.0, 0.1, 201, False, "o0"))
    point.take(Answer(1, 100.1, 0.0, TIMEOUT, False, ""))
    point.take(Answer(2, 100.2, 0.01, 503, True, ""))
    assert point.placed == {"o0": 100.0} and point.refused == 2
    assert point.offered_by(99.0) == 0
    assert point.offered_by(100.0) == 1
    assert point.offered_by(100.45) == 5
    assert point.offered_by(500.0) == 20


def e2e_point(
    rate: float, *, unrouted: int = 0, refused: int = 0, cpu_ms: float | None = 9.0
) -> dict[str, Any]:
    return {
        "rate": rate,
        "placed": 100,
        "unrouted": unrouted,
        "refused": refused,
        "cpu_ms_per_order": cpu_ms,
    }


@pytest.mark.parametrize(
    ("points", "chosen"),
    [
        ([e2e_point(25), e2e_point(50), e2e_point(100), e2e_point(200)], 100),
        ([e2e_point(25), e2e_point(50), e2e_point(100, unrouted=3)], 50),
        ([e2e_point(25), e2e_point(100, refused=2), e2e_point(200, refused=9)], 25),
        ([e2e_point(25), e2e_point(100, cpu_ms=None), e2e_point(200)], 200),
        ([e2e_point(25, unrouted=1)], None),
    ],
    ids=[
        "the-preferred-rate",
        "the-highest-complete",
        "timed-out-requests",
        "one-without-cpu",
        "none-complete",
    ],
)
def test_the_cpu_figure_comes_from_a_rate_that_routed_every_order(
    points: list[dict[str, Any]], chosen: float | None
) -> None:
    found = cpu_point(points, 100)
    assert (found or {}).get("rate") == chosen


@pytest.mark.parametrize(
    ("title", "counted"),
    [
        ("postgres: 15/main: oms_inventory oms_inventory_h2 127.0.0.1(43906) idle", True),
        ("postgres: 15/main: oms_inventory oms_inventory_h1 127.0.0.1(43906) idle", False),
        ("postgres: oms_returns oms_returns_h2 [local] SELECT", True),
        ("postgres: 15/main: walwriter", True),
        ("postgres: 15/main: checkpointer", True),
        ("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", True),
    ],
)
def test_postgres_processes_of_this_run_and_the_shared_ones_count(
    title: str, counted: bool
) -> None:
    assert cpu.is_ours(title, {"oms_inventory_h2", "oms_returns_h2"}) is counted


def test_cpu_per_order_per_group_and_summed_over_the_services() -> None:
    earlier = cpu.Reading({"a": {1: 1.0, 2: 5.0}, "b": {3: 0.5}, "postgresql": {4: 2.0}})
    later = cpu.Reading({"a": {1: 1.5, 9: 0.25}, "b": {3: 1.0}, "postgresql": {4: 3.0}})
    used = later.minus(earlier)  # pid 2 ended between the readings; pid 9 started
    assert used == {"a": 0.75, "b": 0.5, "postgresql": 1.0}
    found = cpu.per_order_ms(used, 100, services=("a", "b"))
    assert found == {"a": 7.5, "b": 5.0, "postgresql": 10.0, cpu.SERVICES_SUM: 12.5}
    assert cpu.per_order_ms(used, 0, services=("a",)) == {}


def test_a_services_idle_housekeeping_is_not_charged_to_the_orders() -> None:
    used = {"a": 3.0, "b": 0.1, "kafka": 0.1}
    idle = {"a": 0.05, "b": 0.02, "kafka": 0.02}  # a twentieth of a core idle, and noise
    found = cpu.above_idle(used, idle, 10.0, groups=("a", "b"))
    assert found == {"a": 2.5, "b": 0.0, "kafka": 0.1}  # the shared broker as it is


def test_a_process_started_by_another_is_its_descendant() -> None:
    # A child that waits on its stdin: it is alive until the test closes it, no sleeping.
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        found = cpu.descendants_of([os.getpid(), child.pid])
        assert child.pid in found[os.getpid()]
        assert found[child.pid] == []
        assert cpu.process_cpu_s(child.pid) is not None
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
