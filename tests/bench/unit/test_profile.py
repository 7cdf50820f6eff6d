"""Reducing py-spy's raw stacks to where a service spends its time."""

from __future__ import annotations

from bench.profile import reduce

RAW = "\n".join(
    [
        "main (services/x/__main__.py:1);handle (libs/bus/message_bus.py:10);"
        "execute (sqlalchemy/engine.py:5) 60",
        "main (services/x/__main__.py:1);render (services/x/api/routes.py:20) 30",
        "main (services/x/__main__.py:1);run (asyncio/runners.py:118) 10",
        "Thread._bootstrap (threading.py:1);Queue.get (queue.py:171);"
        "Condition.wait (threading.py:323) 500",
        "",
    ]
)


def test_shares_are_of_busy_samples_and_leave_out_idle_threads() -> None:
    profile = reduce("x", RAW)
    assert profile.samples == 100
    assert profile.top == [
        ("handle (libs/bus/message_bus.py)", 60.0),
        ("render (services/x/api/routes.py)", 30.0),
    ]  # main holds every sample: an entry point, not a finding
    assert profile.leaves[0] == ("execute (sqlalchemy/engine.py)", 60.0)


def test_an_empty_recording_reduces_to_nothing() -> None:
    assert reduce("x", "").samples == 0
