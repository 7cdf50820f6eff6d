"""The overload run: a peak far beyond what capture sustains, offered at a fixed rate.

A service that sheds load answers what it cannot take at once with 503 and a Retry-After
header (the client retries later with the same Idempotency-Key), and keeps the latency of what
it accepts. A service that queues instead makes every client wait, until clients give up (a
time-out: the order may still be placed, and the client cannot know). So the figures are the
ends of the requests: accepted (201) with their latency, refused by status (503 with and
without Retry-After apart), time-outs (no answer within the client's 10 s) and the slowest
answer of any kind; then, once the stack has drained, whether each accepted order was routed
exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.load import Run, percentile
from bench.pacer import FAILED, TIMEOUT

ACCEPTED = 201
SHED = 503


def summarize(
    run: Run, routing_counts: Mapping[str, int], *, drain_seconds: float
) -> dict[str, Any]:
    """The overload figures from the run's answers and the accepted orders' routing counts
    ("never", "once", "more": bench.end_to_end.RoutedWatch.routing_counts)."""
    accepted = run.latencies([ACCEPTED])
    refused: dict[str, int] = {}
    for status, count in sorted(run.statuses().items()):
        if status not in (ACCEPTED, TIMEOUT, FAILED):
            refused[str(status)] = count
    lacking = sum(1 for a in run.answers if a.status == SHED and not a.retry_after)
    return {
        "rate": run.offered,
        "seconds": run.planned_seconds,
        "offered": len(run.answers),
        "accepted": len(accepted),
        "accepted_p50_ms": round(percentile(accepted, 50) * 1000, 1),
        "accepted_p95_ms": round(percentile(accepted, 95) * 1000, 1),
        "accepted_p99_ms": round(percentile(accepted, 99) * 1000, 1),
        "slowest_ms": round(max(run.latencies(), default=0.0) * 1000, 1),
        "timeouts": run.count(TIMEOUT),
        "no_answer": run.count(FAILED),
        "refused": refused,
        "refused_other_than_503": sum(n for s, n in refused.items() if s != str(SHED)),
        "shed_without_retry_after": lacking,
        "routed_never": routing_counts.get("never", 0),
        "routed_once": routing_counts.get("once", 0),
        "routed_more_than_once": routing_counts.get("more", 0),
        "drain_seconds": round(drain_seconds, 1),
        "generator": run.cost(),
    }
