"""`make test`: the whole suite as two pytest runs side by side, each with its own test databases,
ports and topics, and one exit status for both.

Why two: most of the suite waits (on the broker, on a service's answer, on a poll), so one pytest
process keeps about one of the machine's two cores busy (a whole run: 24 min of wall time for
25 min of CPU). Two shards keep both busy. Each has its own database suffix, port base and run id
(tests/support/environment.py), so neither empties the other's databases, takes its ports or reads
its topics; each starts its own end-to-end stack when it reaches its end-to-end tests.

The second shard is a fixed list of paths and the first is everything else, so a new test file
always runs (in the first) and no test can fall between the two.

    python -m tools.test_shards [pytest options...]
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# About half the suite's time each (figures from whole runs): the API fuzzing (~300 s), most
# services' integration tests (~120 s), the saga crash test (~170 s), the replica kill test
# (~60 s with its replicas' start), the chaos suite (~240 s with its own broker and
# database), and insights' integration, KPI, dead-letter and console browser tests (~100 s)
# here; the rest of the end-to-end tests, inventory's integration tests and every
# unit test in the first shard.
SECOND_SHARD_PATHS = (
    "tests/e2e/test_api_fuzzing.py",
    "tests/e2e/test_saga_crashes.py",
    "tests/e2e/test_replicas.py",
    "tests/chaos",
    "tests/order_capture/integration",
    "tests/orchestration/integration",
    "tests/returns/integration",
    "tests/notifications/integration",
    "tests/insights/integration",
    "tests/e2e/test_insights_kpis.py",
    "tests/e2e/test_dead_letters.py",
    "tests/e2e/test_console.py",
)
# The second shard's ports start this far above the first's (a run uses its base + 1 .. + 99).
SECOND_SHARD_PORT_OFFSET = 500
# pytest's exit status when it collected nothing: a shard that runs no test must fail loudly.
NO_TESTS_COLLECTED = 5
# pytest's last line: "3076 passed, 2 skipped in 1481.11s (0:24:41)", between "=" unless -q.
_SUMMARY = re.compile(r"\b(passed|failed|errors?|skipped|deselected|no tests ran)\b.* in [\d.]+s")


@dataclass(frozen=True)
class Shard:
    name: str
    database_suffix: str
    port_base: int
    run_id: str
    paths: tuple[str, ...]
    ignored: tuple[str, ...]

    def command(self, pytest_options: list[str]) -> list[str]:
        ignores = [f"--ignore={path}" for path in self.ignored]
        return [sys.executable, "-m", "pytest", *pytest_options, *ignores, *self.paths]

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "OMS_TEST_DATABASE_SUFFIX": self.database_suffix,
            "OMS_TEST_PORT_BASE": str(self.port_base),
            "OMS_TEST_RUN_ID": self.run_id,
        }


def shards() -> tuple[Shard, Shard]:
    """The two shards: the caller's suffix, port base and run id for the first (defaults as in
    tests/support/environment.py), the same with `_2`, +500 and `b` for the second."""
    suffix = os.environ.get("OMS_TEST_DATABASE_SUFFIX", "_test")
    port_base = int(os.environ.get("OMS_TEST_PORT_BASE", "18000"))
    run_id = os.environ.get("OMS_TEST_RUN_ID", str(int(time.time())))
    first = Shard("1", suffix, port_base, f"{run_id}a", ("tests",), SECOND_SHARD_PATHS)
    second = Shard(
        "2",
        f"{suffix}_2",
        port_base + SECOND_SHARD_PORT_OFFSET,
        f"{run_id}b",
        SECOND_SHARD_PATHS,
        (),
    )
    return first, second


def _ensure_databases(shard: Shard) -> None:
    """The shard's test databases (the first shard's are made by `make infra`)."""
    subprocess.run(
        [str(ROOT / "deploy/local/postgres.sh"), "database", shard.database_suffix],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def _relay(shard: Shard, process: subprocess.Popen[bytes], summary: list[str]) -> None:
    """The shard's output, each line marked with its shard; the last summary line kept."""
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        if _SUMMARY.search(line):
            summary.append(line.strip("= "))
        sys.stdout.write(f"[{shard.name}] {line}\n")
        sys.stdout.flush()


def main(pytest_options: list[str]) -> int:
    started = time.monotonic()
    both = shards()
    _ensure_databases(both[1])
    running: list[tuple[Shard, subprocess.Popen[bytes], list[str], threading.Thread]] = []
    for shard in both:
        process = subprocess.Popen(
            shard.command(pytest_options),
            cwd=ROOT,
            env=shard.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        summary: list[str] = []
        relay = threading.Thread(target=_relay, args=(shard, process, summary), daemon=True)
        relay.start()
        running.append((shard, process, summary, relay))

    def stop_all(signum: int, _frame: object) -> None:
        for _, process, _, _ in running:
            process.send_signal(signum)

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)

    status = 0
    lines = []
    for shard, process, summary, relay in running:
        code = process.wait()
        relay.join()
        if code == NO_TESTS_COLLECTED:
            lines.append(f"shard {shard.name}: collected no tests: failing")
            code = 1
        status = status or code
        outcome = summary[-1] if summary else "no summary"
        lines.append(f"shard {shard.name} ({shard.database_suffix}): exit {code}: {outcome}")
    print(f"make test: {time.monotonic() - started:.0f} s wall time for both shards")
    for line in lines:
        print(f"make test: {line}")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
