"""A broker outage must not flood the log: aiokafka logged "Unable connect to node" about
7,000 times a second per process (issue 23). A repeated message gets through once per
interval, with the count of those held back."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from libs.observability.logging import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


UNABLE = "Unable connect to node with id %s: %s"


def test_a_repeated_message_gets_through_once_per_interval_with_the_count_held_back() -> None:
    clock = Clock()
    repeats = RepeatFilter(interval_s=10, clock=clock)

    passed = []
    for i in range(800):
        clock.now += 1 / 32  # 32 a second (exact in binary), 25 s in all
        r = record("aiokafka.client", UNABLE, i % 3, "Connect call failed")
        if repeats.filter(r):
            passed.append(r)

    assert len(passed) == 3  # at 0 s, at 10 s and at 20 s
    assert not hasattr(passed[0], "suppressed")
    assert [r.suppressed for r in passed[1:]] == [319, 319]  # type: ignore[attr-defined]


def test_different_messages_and_loggers_are_counted_apart() -> None:
    repeats = RepeatFilter(interval_s=10, clock=Clock())

    assert repeats.filter(record("aiokafka.client", UNABLE, 1, "x"))
    assert repeats.filter(record("aiokafka.client", 'Unable connect to "%s:%s": %s', "h", 1, "x"))
    assert repeats.filter(record("aiokafka.consumer.fetcher", UNABLE, 1, "x"))
    assert not repeats.filter(record("aiokafka.client", UNABLE, 2, "y"))


def test_other_loggers_are_never_held_back() -> None:
    repeats = RepeatFilter(interval_s=10, clock=Clock())

    assert all(repeats.filter(record("uvicorn.error", "same line")) for _ in range(50))


WRITER = """
import logging
from libs.observability.logging import configure_logging
configure_logging(service="writer")
client = logging.getLogger("aiokafka.client")
for node in range(5000):
    client.error("Unable connect to node with id %s: %s", node, "Connect call failed")
"""


def test_a_configured_service_writes_one_line_for_a_flood(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", WRITER],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout

    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 1
    assert lines[0]["event"] == "Unable connect to node with id 0: Connect call failed"
